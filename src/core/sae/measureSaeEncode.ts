import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { OnnxGraph } from './OnnxGraph.ts';
import type { SaeConfig } from './SaeConfig.ts';
import { SaeSession } from './SaeSession.ts';
import type { SaeWeights } from './SaeWeights.ts';

export interface SaeEncodeMeasureOptions {
  /** Defaults to 4096 (Llama-3.1-8B's n_embd). */
  dIn?: number;
  /** Defaults to 65,536 (the paper's SAE). */
  dSae?: number;
  /** Defaults to 20. */
  k?: number;
  /** Rows per run. Defaults to 256. */
  batchSize?: number;
  /** Timed batches after one warm-up batch. Defaults to 5. */
  batches?: number;
  /** Defaults to the machine's parallelism. */
  threads?: number;
  signal?: AbortSignal;
}

export interface SaeEncodeMeasurement {
  dIn: number;
  dSae: number;
  k: number;
  batchSize: number;
  threads: number;
  provider: 'cpu' | 'cuda';
  /** Sparse TopK encode (the production path), rows per second. */
  encodeRowsPerSec: number;
  /** A bare ONNX MatMul `[batch, dIn] × [dIn, dSae]` (matrix as an initializer, like the SAE's) in the same process, rows per second. */
  matmulRowsPerSec: number;
  /** encodeRowsPerSec / matmulRowsPerSec: what the SAE costs beyond its matrix product. */
  matmulShare: number;
}

/** Fills with uniform values in [−scale, scale) from a fixed xorshift seed (fast for 268M floats). */
function fill(array: Float32Array, seed: number, scale: number): Float32Array {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < array.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    array[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return array;
}

/**
 * Measures encode throughput of a tied TopK SAE of the paper's shape against a plain MatMul of
 * the same shape, both on onnxruntime-node with the same threads, alternating so that machine
 * noise hits both alike.
 */
export async function measureSaeEncode(options: SaeEncodeMeasureOptions = {}): Promise<SaeEncodeMeasurement> {
  const dIn = options.dIn ?? 4096;
  const dSae = options.dSae ?? 65_536;
  const k = options.k ?? 20;
  const batchSize = options.batchSize ?? 256;
  const batches = options.batches ?? 5;
  const threads = options.threads ?? availableParallelism();
  const config: SaeConfig = {
    architecture: 'topk',
    dIn,
    dSae,
    k,
    normalisation: { kind: 'none' },
    tied: true,
    applyBDecToInput: true,
    threshold: null,
    modelFamily: null,
    layer: null,
    source: { format: 'facet', path: 'benchmark', files: [], hookName: null, notes: [] },
    hash: 'benchmark',
  };
  const weights: SaeWeights = {
    wEnc: fill(new Float32Array(dIn * dSae), 1, 1 / Math.sqrt(dIn)),
    bEnc: fill(new Float32Array(dSae), 2, 0.01),
    wDec: null,
    bDec: fill(new Float32Array(dIn), 3, 0.01),
    threshold: null,
  };
  const x = fill(new Float32Array(batchSize * dIn), 4, 1);

  // The baseline holds its matrix the way SaeSession does (an external-data initializer), so the
  // share measures what the SAE adds to the product (bias, b_dec, TopK, ReLU), not weight placement.
  const graph = new OnnxGraph('matmul');
  graph.input('x', 'float32', ['rows', dIn]);
  graph.externalInitializer('w', [dIn, dSae], 'w.bin');
  graph.output(graph.op('MatMul', ['x', 'w']), 'y', 'float32', ['rows', dSae]);
  const matmul = await ort.InferenceSession.create(graph.toBytes(), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    externalData: [{ path: 'w.bin', data: new Uint8Array(weights.wEnc.buffer, weights.wEnc.byteOffset, weights.wEnc.byteLength) }],
  });
  const matmulFeeds = { x: new ort.Tensor('float32', x, [batchSize, dIn]) };
  const sae = await SaeSession.create(config, weights, { threads, provider: 'cpu', batchSize });
  try {
    const runMatmul = async (): Promise<number> => {
      const start = performance.now();
      const result = await matmul.run(matmulFeeds);
      const elapsed = performance.now() - start;
      for (const value of Object.values(result)) value.dispose();
      return elapsed;
    };
    const runEncode = async (): Promise<number> => {
      const start = performance.now();
      await sae.encodeSparse(x, batchSize);
      return performance.now() - start;
    };
    await runMatmul();
    await runEncode();
    let matmulMs = 0;
    let encodeMs = 0;
    for (let i = 0; i < batches; i++) {
      if (options.signal?.aborted) throw options.signal.reason;
      matmulMs += await runMatmul();
      encodeMs += await runEncode();
    }
    const encodeRowsPerSec = (batches * batchSize) / (encodeMs / 1000);
    const matmulRowsPerSec = (batches * batchSize) / (matmulMs / 1000);
    return { dIn, dSae, k, batchSize, threads, provider: sae.provider, encodeRowsPerSec, matmulRowsPerSec, matmulShare: encodeRowsPerSec / matmulRowsPerSec };
  } finally {
    await sae.dispose();
    await matmul.release();
  }
}
