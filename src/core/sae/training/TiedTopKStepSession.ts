import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FacetError } from '../../../shared/FacetError.ts';
import { buildTiedTopKEncodeGraph, buildTiedTopKStepGraph, type TrainingFloat } from './TiedTopKTrainingGraph.ts';
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
  /**
   * Cap on n·dSae per encoder run (the dense pre-activations); each run streams all of W, so
   * larger is faster until the output no longer fits the caches' and allocator's sweet spot:
   * measured here, 1,024 rows × 65,536 beat 2,048. Defaults to 2^26 elements (256 MiB in float32).
   */
  maxPreElements?: number;
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
 * The onnxruntime sessions of a tied TopK SAE (see TiedTopKTrainingGraph.ts): `gradient()` adds
 * the batch gradient of the mean normalised MSE into caller-owned buffers, `evaluate()` runs the
 * forward pass only. The encoder runs on up to `maxPreElements / dSae` rows at a time, the step
 * graph on micro-batches under `maxSelectionElements`.
 */
export class TiedTopKStepSession {
  readonly dIn: number;
  readonly dSae: number;
  readonly float: TrainingFloat;
  readonly device: 'cpu' | 'cuda';
  private readonly maxSelectionElements: number;
  private readonly maxPreElements: number;
  private sessions: { encode: ort.InferenceSession; gradient: ort.InferenceSession; forward: ort.InferenceSession } | undefined;

  private constructor(
    options: { dIn: number; dSae: number; float: TrainingFloat; maxSelectionElements: number; maxPreElements: number },
    device: 'cpu' | 'cuda',
    sessions: { encode: ort.InferenceSession; gradient: ort.InferenceSession; forward: ort.InferenceSession },
  ) {
    this.dIn = options.dIn;
    this.dSae = options.dSae;
    this.float = options.float;
    this.maxSelectionElements = options.maxSelectionElements;
    this.maxPreElements = options.maxPreElements;
    this.device = device;
    this.sessions = sessions;
  }

  static async create(options: TiedTopKStepSessionOptions): Promise<TiedTopKStepSession> {
    const float = options.float ?? 'float32';
    const shape = { dIn: options.dIn, dSae: options.dSae, float };
    const { session: encode, device } = await createTrainingSession(buildTiedTopKEncodeGraph(shape), options.device ?? 'auto', options.threads);
    const { session: gradient } = await createTrainingSession(buildTiedTopKStepGraph({ ...shape, withGradient: true }), device, options.threads);
    const { session: forward } = await createTrainingSession(buildTiedTopKStepGraph({ ...shape, withGradient: false }), device, options.threads);
    return new TiedTopKStepSession(
      { ...shape, maxSelectionElements: options.maxSelectionElements ?? 2 ** 25, maxPreElements: options.maxPreElements ?? 2 ** 26 },
      device,
      { encode, gradient, forward },
    );
  }

  /** Rows per step-graph run for a given K. */
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
    const session = this.live().gradient;
    const rows = this.rowsOf(batch, k);
    const scale = 1 / (options.rowScaleRows ?? rows);
    const rowScale = new ort.Tensor(this.float, this.float === 'float32' ? Float32Array.of(scale) : Float64Array.of(scale), [1]);
    const stats = emptyStatistics();
    const { dIn } = this;
    const gW = gradient.weight;
    const gEnc = gradient.encoderBias;
    const gDec = gradient.decoderBias;
    for await (const part of this.encodedParts(params, batch, rows, k)) {
      const out = await session.run({ ...this.stepFeeds(params, part), rowScale });
      const codes = out.codes!.data as FloatArray;
      accumulateStatistics(stats, out.rowError!.data as FloatArray, out.rowNorm!.data as FloatArray, codes);
      const dPre = out.dPre!.data as FloatArray;
      const dWRows = out.dWRows!.data as FloatArray;
      const dBDec = out.dBDec!.data as FloatArray;
      const indices = part.indices;
      for (let s = 0; s < indices.length; s++) {
        const feature = Number(indices[s]);
        gEnc[feature]! += dPre[s]!;
        const target = feature * dIn;
        const source = s * dIn;
        for (let i = 0; i < dIn; i++) gW[target + i]! += dWRows[source + i]!;
      }
      for (let i = 0; i < dIn; i++) gDec[i]! += dBDec[i]!;
      if (options.featureFires) countFires(options.featureFires, indices, codes);
      disposeOutputs(out);
    }
    return stats;
  }

  /** Forward pass only: reconstruction statistics of `batch` `[rows, dIn]`. */
  async evaluate(params: TiedTopKParameters<FloatArray>, batch: FloatArray, k: number, options: { featureFires?: Float64Array } = {}): Promise<BatchStatistics> {
    const session = this.live().forward;
    const rows = this.rowsOf(batch, k);
    const stats = emptyStatistics();
    for await (const part of this.encodedParts(params, batch, rows, k)) {
      const out = await session.run(this.stepFeeds(params, part));
      const codes = out.codes!.data as FloatArray;
      accumulateStatistics(stats, out.rowError!.data as FloatArray, out.rowNorm!.data as FloatArray, codes);
      if (options.featureFires) countFires(options.featureFires, part.indices, codes);
      disposeOutputs(out);
    }
    return stats;
  }

  async dispose(): Promise<void> {
    const sessions = this.sessions;
    this.sessions = undefined;
    if (!sessions) return;
    for (const session of [sessions.encode, sessions.gradient, sessions.forward]) await session.release();
  }

  /**
   * Runs the encoder on blocks of rows (one pass over W each) and yields step-graph micro-batches
   * with their TopK indices and pre-activation values.
   */
  private async *encodedParts(params: TiedTopKParameters<FloatArray>, batch: FloatArray, rows: number, k: number): AsyncGenerator<EncodedPart> {
    const { dIn, dSae, float } = this;
    const encode = this.live().encode;
    const encodeRows = Math.max(1, Math.floor(this.maxPreElements / dSae));
    const stepRows = this.microBatchRows(k);
    const kTensor = new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), [1]);
    for (let start = 0; start < rows; start += encodeRows) {
      const n = Math.min(encodeRows, rows - start);
      const x = batch.subarray(start * dIn, (start + n) * dIn);
      const out = await encode.run({
        x: new ort.Tensor(float, x, [n, dIn]),
        W: new ort.Tensor(float, params.weight, [dSae, dIn]),
        bEnc: new ort.Tensor(float, params.encoderBias, [dSae]),
        bDec: new ort.Tensor(float, params.decoderBias, [dIn]),
        k: kTensor,
      });
      const indices = out.indices!.data as BigInt64Array;
      const values = out.values!.data as FloatArray;
      for (let from = 0; from < n; from += stepRows) {
        const m = Math.min(stepRows, n - from);
        yield { rows: m, k, x: x.subarray(from * dIn, (from + m) * dIn), indices: indices.subarray(from * k, (from + m) * k), values: values.subarray(from * k, (from + m) * k) };
      }
      disposeOutputs(out);
    }
  }

  private stepFeeds(params: TiedTopKParameters<FloatArray>, part: EncodedPart): Record<string, ort.Tensor> {
    const { float, dIn, dSae } = this;
    return {
      x: new ort.Tensor(float, part.x, [part.rows, dIn]),
      W: new ort.Tensor(float, params.weight, [dSae, dIn]),
      bDec: new ort.Tensor(float, params.decoderBias, [dIn]),
      indices: new ort.Tensor('int64', part.indices, [part.rows, part.k]),
      values: new ort.Tensor(float, part.values, [part.rows, part.k]),
    };
  }

  private live(): { encode: ort.InferenceSession; gradient: ort.InferenceSession; forward: ort.InferenceSession } {
    if (!this.sessions) throw new FacetError('INVALID_ARGUMENT', 'TiedTopKStepSession was used after dispose(); create a new session.');
    return this.sessions;
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
}

/** Rows of one step-graph run with the encoder's TopK selection. */
interface EncodedPart {
  rows: number;
  k: number;
  /** [rows, dIn] */
  x: FloatArray;
  /** [rows, k] */
  indices: BigInt64Array;
  /** [rows, k] pre-activations at `indices` */
  values: FloatArray;
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
