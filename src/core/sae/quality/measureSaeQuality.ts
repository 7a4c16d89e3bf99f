import { FacetError, throwIfAborted } from '../../../shared/FacetError.ts';
import type { SaeConfig } from '../SaeConfig.ts';
import type { LongOperation, SparseCodes } from '../SaeSession.ts';
import type { ActivationSource } from '../training/ActivationSource.ts';
import { fitWarnings, type SaeFitContext, type SaeFitWarning } from './fitWarnings.ts';

/** What the quality check needs from an SAE: {@link SaeSession} provides it. */
export interface SaeCodec {
  readonly config: SaeConfig;
  encodeSparse(x: Float32Array, rows: number, operation?: LongOperation): Promise<SparseCodes>;
  decode(codes: Float32Array, rows: number, operation?: LongOperation): Promise<Float32Array>;
}

export interface SaeQualityOptions {
  /** Stop after this many tokens. Defaults to 16,384. */
  maxTokens?: number;
  /** A feature firing on at least this share of tokens is "always on". Defaults to 0.9. */
  alwaysOnShare?: number;
  /** The model and layer the activations come from, for the fit warnings. */
  context?: SaeFitContext;
}

export interface SaeQualityMetrics {
  tokens: number;
  /** Mean number of features with a code > 0 per token. */
  l0: number;
  /** mean_t ‖x_t − x̂_t‖² / ‖x_t‖² (per-token normalised, then averaged: the training loss). */
  normalisedMse: number;
  /** Σ_t ‖x_t − x̂_t‖² / Σ_t ‖x_t − x̄‖², x̄ the mean over the checked tokens. */
  fractionOfVarianceUnexplained: number;
  /** Features that never fired on the checked tokens. */
  deadFeatures: number;
  /** Features that fired on ≥ alwaysOnShare of the tokens. */
  alwaysOnFeatures: number;
  /** Up to 20 always-on feature ids, most frequent first. */
  alwaysOnExamples: number[];
  alwaysOnShare: number;
}

export interface SaeQualityReport {
  /** Null when the SAE cannot be run on these activations (d_in mismatch). */
  metrics: SaeQualityMetrics | null;
  warnings: SaeFitWarning[];
}

/**
 * Runs an SAE over activations from `source` (up to `maxTokens` tokens) and reports L0,
 * normalised MSE, FVU, dead and always-on features, with warnings that explain a poor fit.
 * Reconstructions are compared in the SAE's input space: for `row-norm` and `layer-norm` SAEs the
 * target is the normalised row (their decoder output stays normalised); `scale` is undone by
 * decoding, so the target is the raw row.
 */
export async function measureSaeQuality(
  sae: SaeCodec,
  source: ActivationSource,
  options: SaeQualityOptions = {},
  control: { signal?: AbortSignal; onProgress?: (tokens: number, total: number) => void } = {},
): Promise<SaeQualityReport> {
  const { config } = sae;
  const maxTokens = options.maxTokens ?? 16_384;
  const alwaysOnShare = options.alwaysOnShare ?? 0.9;
  if (source.dIn !== config.dIn) {
    return { metrics: null, warnings: fitWarnings(config, null, source.dIn, options.context ?? {}) };
  }
  const { dIn, dSae } = config;
  const fires = new Float64Array(dSae);
  const sum = new Float64Array(dIn);
  let squareSum = 0;
  let errorSum = 0;
  let normalisedErrorSum = 0;
  let activeSum = 0;
  let tokens = 0;
  let startChunk = 0;
  for await (const rawChunk of source.chunks({ startChunk, ...(control.signal ? { signal: control.signal } : {}) })) {
    throwIfAborted(control.signal);
    startChunk += 1;
    if (rawChunk.length % dIn !== 0) {
      throw new FacetError('SAE_SHAPE_MISMATCH', `Activation chunk ${startChunk - 1} has ${rawChunk.length} values, not a multiple of d_in ${dIn}.`, { length: rawChunk.length, dIn });
    }
    const rows = Math.min(rawChunk.length / dIn, maxTokens - tokens);
    if (rows <= 0) break;
    const chunk = rawChunk.subarray(0, rows * dIn);
    const codes = await sae.encodeSparse(chunk, rows, control.signal ? { signal: control.signal } : {});
    const dense = new Float32Array(rows * dSae);
    for (let r = 0; r < rows; r++) {
      for (let e = codes.rowStart[r]!; e < codes.rowStart[r + 1]!; e++) {
        const feature = codes.indices[e]!;
        dense[r * dSae + feature] = codes.values[e]!;
        fires[feature]! += 1;
      }
      activeSum += codes.rowStart[r + 1]! - codes.rowStart[r]!;
    }
    const reconstruction = await sae.decode(dense, rows, control.signal ? { signal: control.signal } : {});
    const target = new Float64Array(dIn);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < dIn; i++) target[i] = chunk[r * dIn + i]!;
      reconstructionTarget(config, target);
      let error = 0;
      let norm = 0;
      for (let i = 0; i < dIn; i++) {
        const value = target[i]!;
        error += (reconstruction[r * dIn + i]! - value) ** 2;
        norm += value * value;
        sum[i]! += value;
      }
      errorSum += error;
      squareSum += norm;
      normalisedErrorSum += error / Math.max(norm, 1e-30);
    }
    tokens += rows;
    control.onProgress?.(tokens, maxTokens);
    if (tokens >= maxTokens) break;
  }
  if (tokens === 0) {
    throw new FacetError('DATASET_EMPTY', 'The quality check got no activations: the dataset has no samples with tokens after the chat-template prefix. Pick a dataset with content.', {});
  }
  let meanSquare = 0;
  for (let i = 0; i < dIn; i++) meanSquare += (sum[i]! / tokens) ** 2;
  const variance = squareSum - tokens * meanSquare;
  const alwaysOnThreshold = alwaysOnShare * tokens;
  const alwaysOn: number[] = [];
  let dead = 0;
  for (let f = 0; f < dSae; f++) {
    if (fires[f] === 0) dead += 1;
    if (fires[f]! >= alwaysOnThreshold) alwaysOn.push(f);
  }
  alwaysOn.sort((a, b) => fires[b]! - fires[a]! || a - b);
  const metrics: SaeQualityMetrics = {
    tokens,
    l0: activeSum / tokens,
    normalisedMse: normalisedErrorSum / tokens,
    fractionOfVarianceUnexplained: variance > 0 ? errorSum / variance : Number.POSITIVE_INFINITY,
    deadFeatures: dead,
    alwaysOnFeatures: alwaysOn.length,
    alwaysOnExamples: alwaysOn.slice(0, 20),
    alwaysOnShare,
  };
  return { metrics, warnings: fitWarnings(config, metrics, source.dIn, options.context ?? {}) };
}

/** The row the decoder output should match: normalised for row-norm / layer-norm SAEs (float64, in place). */
function reconstructionTarget(config: SaeConfig, row: Float64Array): void {
  const normalisation = config.normalisation;
  const n = row.length;
  if (normalisation.kind === 'row-norm') {
    let squares = 0;
    for (let i = 0; i < n; i++) squares += row[i]! * row[i]!;
    const factor = squares > 0 ? Math.sqrt(config.dIn / squares) : 0;
    for (let i = 0; i < n; i++) row[i]! *= factor;
  } else if (normalisation.kind === 'layer-norm') {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += row[i]!;
    mean /= n;
    let squares = 0;
    for (let i = 0; i < n; i++) squares += (row[i]! - mean) ** 2;
    const std = Math.sqrt(squares / Math.max(1, n - 1));
    for (let i = 0; i < n; i++) row[i] = (row[i]! - mean) / (std + normalisation.eps);
  }
}
