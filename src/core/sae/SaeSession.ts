import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import { OnnxGraph } from './OnnxGraph.ts';
import { getSaeArchitecture } from './SaeArchitecture.ts';
import type { SaeConfig } from './SaeConfig.ts';
import { SAE_GRAPH_INPUTS, SAE_GRAPH_OUTPUTS, buildSaeDecodeGraph, buildSaeEncodeGraph, externalDataFile, type SaeGraph } from './SaeGraphBuilder.ts';
import { validateSaeWeights, type SaeWeights } from './SaeWeights.ts';

/** Execution provider choice. `auto`: CUDA when onnxruntime's CUDA provider is installed, else CPU. */
export type SaeProvider = 'auto' | 'cpu' | 'cuda';

export interface SaeSessionOptions {
  /** Defaults to `auto`. */
  provider?: SaeProvider;
  /** CPU threads for one matrix product. Defaults to the machine's parallelism (tests pass 1). */
  threads?: number;
  /** Rows per onnxruntime run. Defaults to 256. */
  batchSize?: number;
  /** Coverage mode of the paper's released code: ReLU over all features. Defaults to `architecture`. */
  activation?: 'architecture' | 'dense-relu';
  /**
   * `initializers`: weights handed to onnxruntime once as in-memory external data; it prepacks
   * the matrix (faster, about one more copy of W_enc per open graph) and, on a GPU, uploads it once.
   * `inputs`: weights fed on every run without a copy (least memory). Defaults to `initializers`.
   */
  weightPlacement?: 'initializers' | 'inputs';
}

/** Sparse codes, one CSR row per input row; only strictly positive codes are kept. */
export interface SparseCodes {
  rows: number;
  /** [rows + 1]: row r's entries are `rowStart[r] .. rowStart[r + 1] − 1`. */
  rowStart: Uint32Array;
  /** Feature indices, ascending within a row. */
  indices: Uint32Array;
  values: Float32Array;
}

export interface LongOperation {
  signal?: AbortSignal;
  /** Called after each batch with rows done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Encodes and decodes with one SAE on onnxruntime-node. Each graph (dense encode, sparse encode,
 * decode) is built on first use; weights reach it as in-memory external data (or per-run inputs,
 * see {@link SaeSessionOptions.weightPlacement}). Call {@link dispose} when done.
 */
export class SaeSession {
  readonly config: SaeConfig;
  /** The provider actually in use. */
  readonly provider: 'cpu' | 'cuda';
  readonly batchSize: number;
  private readonly weights: SaeWeights;
  private readonly sessionOptions: ort.InferenceSession.SessionOptions;
  private readonly activation: 'architecture' | 'dense-relu';
  private readonly placement: 'initializers' | 'inputs';
  private readonly arrays: Map<string, Float32Array>;
  private readonly tensors: Map<string, ort.Tensor>;
  private readonly sessions = new Map<string, Promise<{ session: ort.InferenceSession; graph: SaeGraph }>>();
  private disposed = false;

  private constructor(config: SaeConfig, weights: SaeWeights, provider: 'cpu' | 'cuda', sessionOptions: ort.InferenceSession.SessionOptions, options: SaeSessionOptions) {
    this.config = config;
    this.weights = weights;
    this.provider = provider;
    this.sessionOptions = sessionOptions;
    this.batchSize = options.batchSize ?? 256;
    this.activation = options.activation ?? 'architecture';
    this.placement = options.weightPlacement ?? 'initializers';
    const { dIn, dSae } = config;
    const names = SAE_GRAPH_INPUTS;
    const shapes: Array<[string, Float32Array | null, number[]]> = [
      [names.wEnc, weights.wEnc, [dIn, dSae]],
      [names.bEnc, weights.bEnc, [dSae]],
      [names.bDec, weights.bDec, [dIn]],
      [names.wDec, weights.wDec, [dSae, dIn]],
      [names.threshold, weights.threshold, [dSae]],
    ];
    this.arrays = new Map();
    this.tensors = new Map();
    for (const [name, data, dims] of shapes) {
      if (data === null) continue;
      this.arrays.set(name, data);
      this.tensors.set(name, new ort.Tensor('float32', data, dims));
    }
  }

  /** Validates the weights, picks the provider and builds the encode graph once. */
  static async create(config: SaeConfig, weights: SaeWeights, options: SaeSessionOptions = {}): Promise<SaeSession> {
    getSaeArchitecture(config.architecture).validate(config, weights.threshold !== null);
    validateSaeWeights(config, weights);
    const threads = Math.max(1, options.threads ?? availableParallelism());
    const base: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    };
    const wanted = options.provider ?? 'auto';
    let provider: 'cpu' | 'cuda' = 'cpu';
    if (wanted !== 'cpu') {
      if (await cudaWorks(base)) provider = 'cuda';
      else if (wanted === 'cuda') {
        throw new FacetError('INVALID_ARGUMENT', "onnxruntime's CUDA provider is not available. Install it (npm rebuild onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 set; needs CUDA 12 and cuDNN 9) or use --provider cpu.", { provider: wanted });
      }
    }
    const sessionOptions = { ...base, executionProviders: provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'] };
    const session = new SaeSession(config, weights, provider, sessionOptions, options);
    // Build the graph encoding will use now, so a bad config fails here rather than mid-run.
    const rowK = getSaeArchitecture(config.architecture).rowK(config);
    await session.get(rowK !== null && session.activation === 'architecture' ? 'sparse' : 'dense');
    return session;
  }

  /** Dense codes `[rows, dSae]` row-major for `x [rows, dIn]`. */
  async encode(x: Float32Array, rows: number, operation: LongOperation = {}): Promise<Float32Array> {
    this.checkRows(x, rows, this.config.dIn, 'encode');
    const { dIn, dSae } = this.config;
    const codes = new Float32Array(rows * dSae);
    const { session, graph } = await this.get('dense');
    for (let start = 0; start < rows; start += this.batchSize) {
      throwIfAborted(operation.signal);
      const n = Math.min(this.batchSize, rows - start);
      const result = await session.run(this.feeds(graph, SAE_GRAPH_INPUTS.x, x.subarray(start * dIn, (start + n) * dIn), [n, dIn]));
      codes.set((result[SAE_GRAPH_OUTPUTS.codes] as ort.Tensor).data as Float32Array, start * dSae);
      disposeAll(result);
      operation.onProgress?.(start + n, rows);
    }
    return codes;
  }

  /** Sparse codes (positive entries only) for `x [rows, dIn]`. */
  async encodeSparse(x: Float32Array, rows: number, operation: LongOperation = {}): Promise<SparseCodes> {
    this.checkRows(x, rows, this.config.dIn, 'encode');
    const { dIn, dSae } = this.config;
    const k = this.activation === 'architecture' ? getSaeArchitecture(this.config.architecture).rowK(this.config) : null;
    const rowStart = new Uint32Array(rows + 1);
    const indices: number[] = [];
    const values: number[] = [];
    const { session, graph } = await this.get(k === null ? 'dense' : 'sparse');
    for (let start = 0; start < rows; start += this.batchSize) {
      throwIfAborted(operation.signal);
      const n = Math.min(this.batchSize, rows - start);
      const result = await session.run(this.feeds(graph, SAE_GRAPH_INPUTS.x, x.subarray(start * dIn, (start + n) * dIn), [n, dIn]));
      if (k === null) {
        const dense = (result[SAE_GRAPH_OUTPUTS.codes] as ort.Tensor).data as Float32Array;
        for (let r = 0; r < n; r++) {
          for (let j = 0; j < dSae; j++) {
            const v = dense[r * dSae + j] as number;
            if (v > 0) {
              indices.push(j);
              values.push(v);
            }
          }
          rowStart[start + r + 1] = indices.length;
        }
      } else {
        const topValues = (result[SAE_GRAPH_OUTPUTS.values] as ort.Tensor).data as Float32Array;
        const topIndices = (result[SAE_GRAPH_OUTPUTS.indices] as ort.Tensor).data as BigInt64Array;
        const row: Array<[number, number]> = [];
        for (let r = 0; r < n; r++) {
          row.length = 0;
          for (let j = 0; j < k; j++) {
            const v = topValues[r * k + j] as number;
            if (v > 0) row.push([Number(topIndices[r * k + j]), v]);
          }
          row.sort((a, b) => a[0] - b[0]);
          for (const [index, value] of row) {
            indices.push(index);
            values.push(value);
          }
          rowStart[start + r + 1] = indices.length;
        }
      }
      disposeAll(result);
      operation.onProgress?.(start + n, rows);
    }
    return { rows, rowStart, indices: Uint32Array.from(indices), values: Float32Array.from(values) };
  }

  /** Reconstruction `[rows, dIn]` for dense `codes [rows, dSae]`. */
  async decode(codes: Float32Array, rows: number, operation: LongOperation = {}): Promise<Float32Array> {
    this.checkRows(codes, rows, this.config.dSae, 'decode');
    const { dIn, dSae } = this.config;
    const out = new Float32Array(rows * dIn);
    const { session, graph } = await this.get('decode');
    for (let start = 0; start < rows; start += this.batchSize) {
      throwIfAborted(operation.signal);
      const n = Math.min(this.batchSize, rows - start);
      const result = await session.run(this.feeds(graph, SAE_GRAPH_INPUTS.codes, codes.subarray(start * dSae, (start + n) * dSae), [n, dSae]));
      out.set((result[SAE_GRAPH_OUTPUTS.reconstruction] as ort.Tensor).data as Float32Array, start * dIn);
      disposeAll(result);
      operation.onProgress?.(start + n, rows);
    }
    return out;
  }

  /** Releases the onnxruntime sessions. The session cannot be used afterwards. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const pending = [...this.sessions.values()];
    this.sessions.clear();
    for (const entry of pending) await (await entry).session.release();
  }

  private feeds(graph: SaeGraph, inputName: string, data: Float32Array, dims: number[]): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of graph.inputs) {
      if (name === inputName) feeds[name] = new ort.Tensor('float32', data, dims);
      else feeds[name] = this.tensors.get(name) as ort.Tensor;
    }
    return feeds;
  }

  private checkRows(data: Float32Array, rows: number, width: number, what: string): void {
    if (this.disposed) throw new FacetError('INTERNAL', 'SaeSession used after dispose().');
    if (!Number.isInteger(rows) || rows < 0 || data.length !== rows * width) {
      throw new FacetError('SAE_SHAPE_MISMATCH', `SAE ${what}: got ${data.length} values for ${rows} rows, but this SAE needs rows of ${width} (${what === 'encode' ? 'd_in' : 'd_sae'}). Check that the activations come from the SAE's model and layer.`, { rows, length: data.length, width });
    }
  }

  private get(kind: 'dense' | 'sparse' | 'decode'): Promise<{ session: ort.InferenceSession; graph: SaeGraph }> {
    let entry = this.sessions.get(kind);
    if (entry === undefined) {
      const featureThresholds = this.weights.threshold !== null;
      const weights = this.placement === 'initializers' ? 'external' : 'inputs';
      const graph =
        kind === 'decode'
          ? buildSaeDecodeGraph(this.config, { weights })
          : buildSaeEncodeGraph(this.config, { output: kind, activation: this.activation, featureThresholds, weights });
      const externalData = graph.external.map((name) => {
        const data = this.arrays.get(name) as Float32Array;
        return { path: externalDataFile(name), data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
      });
      entry = ort.InferenceSession.create(graph.bytes, externalData.length > 0 ? { ...this.sessionOptions, externalData } : this.sessionOptions).then((session) => ({ session, graph }));
      this.sessions.set(kind, entry);
    }
    return entry;
  }
}

function disposeAll(result: ort.InferenceSession.OnnxValueMapType): void {
  for (const value of Object.values(result)) (value as ort.Tensor).dispose();
}

let cudaProbe: Promise<boolean> | undefined;

/** Whether onnxruntime-node's CUDA provider library was installed next to its binding. */
function cudaLibraryInstalled(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const root = dirname(require.resolve('onnxruntime-node/package.json'));
    const library = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    return existsSync(join(root, 'bin', 'napi-v6', process.platform, process.arch, library));
  } catch {
    return false;
  }
}

/**
 * Whether a CUDA session can be created here: the provider library is installed and a 1-node
 * graph loads on it (probed once per process; a missing CUDA or cuDNN shows up here).
 */
async function cudaWorks(base: ort.InferenceSession.SessionOptions): Promise<boolean> {
  cudaProbe ??= (async () => {
    if (!cudaLibraryInstalled()) return false;
    try {
      const graph = new OnnxGraph('cuda_probe');
      graph.input('a', 'float32', [1]);
      graph.output(graph.op('Relu', ['a']), 'b', 'float32', [1]);
      const session = await ort.InferenceSession.create(graph.toBytes(), { ...base, logSeverityLevel: 3, executionProviders: ['cuda'] });
      await session.release();
      return true;
    } catch {
      return false;
    }
  })();
  return cudaProbe;
}
