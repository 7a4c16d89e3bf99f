import { getSaeArchitecture } from './SaeArchitecture.ts';
import type { SaeConfig } from './SaeConfig.ts';
import type { SaeWeights } from './SaeWeights.ts';

/**
 * Float64 reference encoder and decoder, written straight from the definitions in
 * `SaeConfig.ts` with plain loops. Slow (tests and checks only), independent of onnxruntime.
 */

/** Normalises one row in place (float64). */
function normaliseRow(row: Float64Array, config: SaeConfig): void {
  const norm = config.normalisation;
  const n = row.length;
  if (norm.kind === 'scale') {
    for (let i = 0; i < n; i++) row[i] = (row[i] as number) * norm.factor;
  } else if (norm.kind === 'row-norm') {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += (row[i] as number) ** 2;
    const factor = Math.sqrt(config.dIn) / Math.sqrt(sum);
    for (let i = 0; i < n; i++) row[i] = (row[i] as number) * factor;
  } else if (norm.kind === 'layer-norm') {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += row[i] as number;
    mean /= n;
    let squares = 0;
    for (let i = 0; i < n; i++) squares += ((row[i] as number) - mean) ** 2;
    const std = Math.sqrt(squares / Math.max(1, n - 1));
    for (let i = 0; i < n; i++) row[i] = ((row[i] as number) - mean) / (std + norm.eps);
  }
}

/** Pre-activations `[rows, dSae]` in float64. */
export function referencePreActivations(config: SaeConfig, weights: SaeWeights, x: ArrayLike<number>, rows: number): Float64Array {
  const { dIn, dSae } = config;
  const pre = new Float64Array(rows * dSae);
  const input = new Float64Array(dIn);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < dIn; i++) input[i] = x[r * dIn + i] as number;
    normaliseRow(input, config);
    if (config.applyBDecToInput) for (let i = 0; i < dIn; i++) input[i] = (input[i] as number) - (weights.bDec[i] as number);
    const out = pre.subarray(r * dSae, (r + 1) * dSae);
    for (let j = 0; j < dSae; j++) out[j] = weights.bEnc[j] as number;
    for (let i = 0; i < dIn; i++) {
      const xi = input[i] as number;
      if (xi === 0) continue;
      const base = i * dSae;
      for (let j = 0; j < dSae; j++) out[j] = (out[j] as number) + xi * (weights.wEnc[base + j] as number);
    }
  }
  return pre;
}

/** Dense codes `[rows, dSae]` in float64. `activation` as in the ONNX encode graph. */
export function referenceEncode(config: SaeConfig, weights: SaeWeights, x: ArrayLike<number>, rows: number, activation: 'architecture' | 'dense-relu' = 'architecture'): Float64Array {
  const architecture = getSaeArchitecture(config.architecture);
  const codes = referencePreActivations(config, weights, x, rows);
  for (let r = 0; r < rows; r++) {
    const row = codes.subarray(r * config.dSae, (r + 1) * config.dSae);
    if (activation === 'dense-relu') for (let j = 0; j < row.length; j++) row[j] = Math.max(0, row[j] as number);
    else architecture.activateRow(row, config, weights.threshold);
  }
  return codes;
}

/** Reconstruction `[rows, dIn]` in float64 (divided by a `scale` normalisation factor). */
export function referenceDecode(config: SaeConfig, weights: SaeWeights, codes: ArrayLike<number>, rows: number): Float64Array {
  const { dIn, dSae } = config;
  const out = new Float64Array(rows * dIn);
  for (let r = 0; r < rows; r++) {
    const row = out.subarray(r * dIn, (r + 1) * dIn);
    for (let i = 0; i < dIn; i++) row[i] = weights.bDec[i] as number;
    for (let j = 0; j < dSae; j++) {
      const c = codes[r * dSae + j] as number;
      if (c === 0) continue;
      for (let i = 0; i < dIn; i++) {
        // Tied: W_dec[j, i] = W_enc[i, j].
        const w = weights.wDec === null ? (weights.wEnc[i * dSae + j] as number) : (weights.wDec[j * dIn + i] as number);
        row[i] = (row[i] as number) + c * w;
      }
    }
    if (config.normalisation.kind === 'scale') for (let i = 0; i < dIn; i++) row[i] = (row[i] as number) / config.normalisation.factor;
  }
  return out;
}

/** ‖a − b‖ / ‖b‖ over whole arrays (0 when both are zero). */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += ((a[i] as number) - (b[i] as number)) ** 2;
    norm += (b[i] as number) ** 2;
  }
  if (norm === 0) return Math.sqrt(diff);
  return Math.sqrt(diff / norm);
}
