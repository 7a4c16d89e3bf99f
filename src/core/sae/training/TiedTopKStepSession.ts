import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FacetError } from '../../../shared/FacetError.ts';
import { buildTiedTopKTrainingGraph, type TrainingFloat } from './TiedTopKTrainingGraph.ts';
import type { FloatArray, TiedTopKParameters } from './TiedTopKParameters.ts';

/** Where the training graphs run. `auto` takes CUDA when onnxruntime-node has it, else CPU. */
export type TrainingDevice = 'cpu' | 'cuda' | 'auto';

export interface TiedTopKStepSessionOptions {
  dIn: number;
  dSae: number;
  /** Defaults to float32. */
  float?: TrainingFloat;
  /** onnxruntime intra-op threads. Defaults to onnxruntime's choice (all cores). */
  threads?: number;
  /** Defaults to `auto`. */
  device?: TrainingDevice;
  /**
   * Cap on n·K·dIn per graph run (the `[n, K, dIn]` selected-rows tensors); a batch is split into
   * micro-batches under it. Defaults to 2^25 elements (128 MiB in float32).
   */
  maxSelectionElements?: number;
}

/** Sums over the rows of one batch. */
export interface BatchStatistics {
  rows: number;
  /** Σ_j ‖x̂_j − x_j‖² / ‖x_j‖² (divide by rows for the normalised MSE the loss uses). */
  normalisedErrorSum: number;
  /** Σ_j ‖x̂_j − x_j‖² */
  errorSum: number;
  /** Σ_j ‖x_j‖² */
  normSum: number;
  /** Σ_j (number of codes > 0 in row j) */
  activeSum: number;
}

/**
 * One onnxruntime session pair for a tied TopK SAE: `gradient()` adds the batch gradient of the
 * mean normalised MSE into caller-owned buffers, `evaluate()` runs the forward pass only.
 */
export class TiedTopKStepSession {
  readonly dIn: number;
  readonly dSae: number;
  readonly float: TrainingFloat;
  readonly device: 'cpu' | 'cuda';
  private readonly maxSelectionElements: number;
  private gradientSession: ort.InferenceSession | undefined;
  private forwardSession: ort.InferenceSession | undefined;

  private constructor(options: Required<Omit<TiedTopKStepSessionOptions, 'threads' | 'device'>>, device: 'cpu' | 'cuda', gradientSession: ort.InferenceSession, forwardSession: ort.InferenceSession) {
    this.dIn = options.dIn;
    this.dSae = options.dSae;
    this.float = options.float;
    this.maxSelectionElements = options.maxSelectionElements;
    this.device = device;
    this.gradientSession = gradientSession;
    this.forwardSession = forwardSession;
  }

  static async create(options: TiedTopKStepSessionOptions): Promise<TiedTopKStepSession> {
    const float = options.float ?? 'float32';
    const shape = { dIn: options.dIn, dSae: options.dSae, float };
    const [gradientBytes, forwardBytes] = [buildTiedTopKTrainingGraph({ ...shape, withGradient: true }), buildTiedTopKTrainingGraph({ ...shape, withGradient: false })];
    const { session: gradientSession, device } = await createTrainingSession(gradientBytes, options.device ?? 'auto', options.threads);
    const { session: forwardSession } = await createTrainingSession(forwardBytes, device, options.threads);
    return new TiedTopKStepSession(
      { dIn: options.dIn, dSae: options.dSae, float, maxSelectionElements: options.maxSelectionElements ?? 2 ** 25 },
      device,
      gradientSession,
      forwardSession,
    );
  }

  /** Rows per graph run for a given K. */
  microBatchRows(k: number): number {
    return Math.max(1, Math.floor(this.maxSelectionElements / (k * this.dIn)));
  }

  /**
   * Adds ∂L/∂θ of L = (1/rowScaleRows) Σ_j ‖x̂_j − x_j‖²/‖x_j‖² over `batch` `[rows, dIn]` into
   * `gradient` (not zeroed here). `featureFires[f]` (if given) is incremented once per row where
   * feature f's code is > 0. `rowScaleRows` defaults to the batch's row count (a plain mean).
   */
  async gradient(
    params: TiedTopKParameters<FloatArray>,
    batch: FloatArray,
    k: number,
    gradient: TiedTopKParameters<FloatArray>,
    options: { featureFires?: Float64Array; rowScaleRows?: number } = {},
  ): Promise<BatchStatistics> {
    const session = this.live(this.gradientSession);
    const rows = this.rowsOf(batch, k);
    const scale = 1 / (options.rowScaleRows ?? rows);
    const stats = emptyStatistics();
    const { dIn } = this;
    const step = this.microBatchRows(k);
    for (let start = 0; start < rows; start += step) {
      const n = Math.min(step, rows - start);
      const feeds = this.feeds(params, batch.subarray(start * dIn, (start + n) * dIn), n, k);
      feeds.rowScale = new ort.Tensor(this.float, this.float === 'float32' ? Float32Array.of(scale) : Float64Array.of(scale), [1]);
      const out = await session.run(feeds);
      const indices = out.indices!.data as BigInt64Array;
      const codes = out.codes!.data as FloatArray;
      accumulateStatistics(stats, out.rowError!.data as FloatArray, out.rowNorm!.data as FloatArray, codes);
      const dPre = out.dPre!.data as FloatArray;
      const dWRows = out.dWRows!.data as FloatArray;
      const dBDec = out.dBDec!.data as FloatArray;
      const gW = gradient.weight;
      const gEnc = gradient.encoderBias;
      for (let s = 0; s < n * k; s++) {
        const feature = Number(indices[s]);
        gEnc[feature]! += dPre[s]!;
        const target = feature * dIn;
        const source = s * dIn;
        for (let i = 0; i < dIn; i++) gW[target + i]! += dWRows[source + i]!;
      }
      const gDec = gradient.decoderBias;
      for (let i = 0; i < dIn; i++) gDec[i]! += dBDec[i]!;
      if (options.featureFires) countFires(options.featureFires, indices, codes);
      disposeOutputs(out);
    }
    return stats;
  }

  /** Forward pass only: reconstruction statistics of `batch` `[rows, dIn]`. */
  async evaluate(params: TiedTopKParameters<FloatArray>, batch: FloatArray, k: number, options: { featureFires?: Float64Array } = {}): Promise<BatchStatistics> {
    const session = this.live(this.forwardSession);
    const rows = this.rowsOf(batch, k);
    const stats = emptyStatistics();
    const step = Math.max(this.microBatchRows(k), 1);
    for (let start = 0; start < rows; start += step) {
      const n = Math.min(step, rows - start);
      const out = await session.run(this.feeds(params, batch.subarray(start * this.dIn, (start + n) * this.dIn), n, k));
      const codes = out.codes!.data as FloatArray;
      accumulateStatistics(stats, out.rowError!.data as FloatArray, out.rowNorm!.data as FloatArray, codes);
      if (options.featureFires) countFires(options.featureFires, out.indices!.data as BigInt64Array, codes);
      disposeOutputs(out);
    }
    return stats;
  }

  async dispose(): Promise<void> {
    const sessions = [this.gradientSession, this.forwardSession];
    this.gradientSession = undefined;
    this.forwardSession = undefined;
    for (const session of sessions) await session?.release();
  }

  private live(session: ort.InferenceSession | undefined): ort.InferenceSession {
    if (!session) throw new FacetError('INVALID_ARGUMENT', 'TiedTopKStepSession was used after dispose(); create a new session.');
    return session;
  }

  private rowsOf(batch: FloatArray, k: number): number {
    if (batch.length % this.dIn !== 0) {
      throw new FacetError('SAE_SHAPE_MISMATCH', `Training batch has ${batch.length} values, not a multiple of d_in ${this.dIn}; the activation source must yield [rows, ${this.dIn}] row-major batches.`, { length: batch.length, dIn: this.dIn });
    }
    if (!Number.isInteger(k) || k < 1 || k > this.dSae) {
      throw new FacetError('INVALID_ARGUMENT', `TopK K = ${k} is outside 1..${this.dSae} (the number of features); pass a smaller --k or --k-anneal-from.`, { k, dSae: this.dSae });
    }
    return batch.length / this.dIn;
  }

  private feeds(params: TiedTopKParameters<FloatArray>, rows: FloatArray, n: number, k: number): Record<string, ort.Tensor> {
    const { float, dIn, dSae } = this;
    return {
      x: new ort.Tensor(float, rows, [n, dIn]),
      W: new ort.Tensor(float, params.weight, [dSae, dIn]),
      bEnc: new ort.Tensor(float, params.encoderBias, [dSae]),
      bDec: new ort.Tensor(float, params.decoderBias, [dIn]),
      k: new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), [1]),
    };
  }
}

/**
 * Creates an onnxruntime session on the requested device. onnxruntime-node lists CUDA on every
 * linux-x64 machine, but its provider library exists only where the user installed it, so `auto`
 * tries CUDA only when that library is present and falls back to the CPU if it fails to load.
 */
export async function createTrainingSession(model: Uint8Array, device: TrainingDevice, threads: number | undefined): Promise<{ session: ort.InferenceSession; device: 'cpu' | 'cuda' }> {
  const common: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(threads !== undefined ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
  };
  if (device !== 'cpu' && cudaProviderInstalled()) {
    try {
      return { session: await ort.InferenceSession.create(model, { ...common, executionProviders: ['cuda', 'cpu'] }), device: 'cuda' };
    } catch (error) {
      if (device === 'cuda') {
        throw new FacetError('INVALID_ARGUMENT', `The CUDA execution provider of onnxruntime-node could not be loaded (${error instanceof Error ? error.message : String(error)}); install it with the package's CUDA install flag (CUDA 12 + cuDNN) or train with --device cpu.`, {}, { cause: error });
      }
    }
  } else if (device === 'cuda') {
    throw new FacetError('INVALID_ARGUMENT', 'This onnxruntime-node build has no CUDA execution provider; train with --device cpu.');
  }
  return { session: await ort.InferenceSession.create(model, { ...common, executionProviders: ['cpu'] }), device: 'cpu' };
}

/** True when onnxruntime-node's CUDA provider library sits beside its binding (installed with its CUDA flag). */
export function cudaProviderInstalled(): boolean {
  if (!ort.listSupportedBackends().some((backend) => backend.name === 'cuda')) return false;
  const packageRoot = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return existsSync(join(packageRoot, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
}

export function emptyStatistics(): BatchStatistics {
  return { rows: 0, normalisedErrorSum: 0, errorSum: 0, normSum: 0, activeSum: 0 };
}

export function addStatistics(into: BatchStatistics, other: BatchStatistics): void {
  into.rows += other.rows;
  into.normalisedErrorSum += other.normalisedErrorSum;
  into.errorSum += other.errorSum;
  into.normSum += other.normSum;
  into.activeSum += other.activeSum;
}

function accumulateStatistics(stats: BatchStatistics, rowError: FloatArray, rowNorm: FloatArray, codes: FloatArray): void {
  for (let j = 0; j < rowError.length; j++) {
    const norm = rowNorm[j]!;
    stats.errorSum += rowError[j]!;
    stats.normSum += norm;
    stats.normalisedErrorSum += rowError[j]! / Math.max(norm, 1e-30);
  }
  stats.rows += rowError.length;
  for (let s = 0; s < codes.length; s++) if (codes[s]! > 0) stats.activeSum += 1;
}

function countFires(fires: Float64Array, indices: BigInt64Array, codes: FloatArray): void {
  for (let s = 0; s < codes.length; s++) if (codes[s]! > 0) fires[Number(indices[s])]! += 1;
}

function disposeOutputs(out: ort.InferenceSession.OnnxValueMapType): void {
  for (const value of Object.values(out)) value.dispose();
}
