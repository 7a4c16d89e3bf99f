import { OnnxGraph } from './OnnxGraph.ts';
import { getSaeArchitecture } from './SaeArchitecture.ts';
import type { SaeConfig } from './SaeConfig.ts';

/**
 * Builds the encode and decode graphs of an SAE. The batch dimension is symbolic (`rows`).
 * Weights (named in {@link SAE_GRAPH_INPUTS}) are never embedded in the protobuf, so any SAE
 * size fits, including 4096 × 65,536 float32 (1 GiB) far above the 2 GiB-per-model cap. They are
 * either graph inputs fed on every run, or initializers stored as ONNX external data that the
 * session receives in memory once (`<name>.bin`), which lets onnxruntime prepack the matrix
 * (measured +31% encode rows/s at the paper's shape on CPU) and upload it to a GPU once.
 */
export const SAE_GRAPH_INPUTS = {
  /** [rows, dIn] activations (encode) */
  x: 'x',
  /** [rows, dSae] codes (decode) */
  codes: 'codes',
  /** [dIn, dSae] */
  wEnc: 'W_enc',
  /** [dSae] */
  bEnc: 'b_enc',
  /** [dSae, dIn] (untied decode only) */
  wDec: 'W_dec',
  /** [dIn] */
  bDec: 'b_dec',
  /** [dSae] per-feature thresholds (jumprelu with a threshold tensor) */
  threshold: 'threshold',
} as const;

export const SAE_GRAPH_OUTPUTS = {
  /** [rows, dSae] dense codes */
  codes: 'codes_out',
  /** [rows, K] kept values after ReLU (per-row TopK, sparse output) */
  values: 'topk_values',
  /** [rows, K] int64 feature indices (per-row TopK, sparse output) */
  indices: 'topk_indices',
  /** [rows, dIn] reconstruction */
  reconstruction: 'reconstruction',
} as const;

/** `inputs`: weights fed on every run. `external`: initializers in external data `<name>.bin`. */
export type WeightPlacement = 'inputs' | 'external';

/** External-data file name of a weight tensor. */
export function externalDataFile(tensor: string): string {
  return `${tensor}.bin`;
}

export interface EncodeGraphOptions {
  /** Defaults to `inputs`. */
  weights?: WeightPlacement;
  /**
   * `dense`: codes `[rows, dSae]`. `sparse`: for per-row TopK architectures the `[rows, K]` values
   * and indices (no dense scatter); other architectures still return dense codes. Defaults to `dense`.
   */
  output?: 'dense' | 'sparse';
  /**
   * `architecture`: the SAE's own activation. `dense-relu`: ReLU over all features whatever the
   * architecture (how the paper's released code computes coverage). Defaults to `architecture`.
   */
  activation?: 'architecture' | 'dense-relu';
  /** Whether the weights carry a per-feature threshold vector (adds the `threshold` input). */
  featureThresholds?: boolean;
}

export interface SaeGraph {
  bytes: Uint8Array;
  /** Input names the session must feed (the data tensor, plus the weights when placed as inputs). */
  inputs: string[];
  /** Weight tensors stored as external data; the session supplies `externalDataFile(name)` for each. */
  external: string[];
  outputs: string[];
}

/** Declares weight tensors either as inputs or as external initializers. */
class WeightDeclarations {
  readonly inputs: string[];
  readonly external: string[] = [];
  private readonly graph: OnnxGraph;
  private readonly placement: WeightPlacement;

  constructor(graph: OnnxGraph, placement: WeightPlacement, dataInput: string) {
    this.graph = graph;
    this.placement = placement;
    this.inputs = [dataInput];
  }

  declare(name: string, dims: number[]): string {
    if (this.placement === 'external') {
      this.external.push(name);
      return this.graph.externalInitializer(name, dims, externalDataFile(name));
    }
    this.inputs.push(name);
    return this.graph.input(name, 'float32', dims);
  }
}

/** Adds the input normalisation; returns the normalised `[rows, dIn]` tensor name. */
function normalise(graph: OnnxGraph, x: string, config: SaeConfig): string {
  const norm = config.normalisation;
  switch (norm.kind) {
    case 'none':
      return x;
    case 'scale':
      return graph.op('Mul', [x, graph.constantFloat([norm.factor])]);
    case 'row-norm': {
      const length = graph.op('ReduceL2', [x], { axes: [1], keepdims: 1 });
      return graph.op('Mul', [x, graph.op('Div', [graph.constantFloat([Math.sqrt(config.dIn)]), length])]);
    }
    case 'layer-norm': {
      const centred = graph.op('Sub', [x, graph.op('ReduceMean', [x], { axes: [1], keepdims: 1 })]);
      const sumSquares = graph.op('ReduceSumSquare', [centred], { axes: [1], keepdims: 1 });
      const std = graph.op('Sqrt', [graph.op('Div', [sumSquares, graph.constantFloat([Math.max(1, config.dIn - 1)])])]);
      return graph.op('Div', [centred, graph.op('Add', [std, graph.constantFloat([norm.eps])])]);
    }
  }
}

/** Encode graph: `x [rows, dIn]` → codes (see {@link EncodeGraphOptions}). */
export function buildSaeEncodeGraph(config: SaeConfig, options: EncodeGraphOptions = {}): SaeGraph {
  const architecture = getSaeArchitecture(config.architecture);
  const graph = new OnnxGraph(`sae_encode_${config.architecture}`);
  const names = SAE_GRAPH_INPUTS;
  graph.input(names.x, 'float32', ['rows', config.dIn]);
  const weights = new WeightDeclarations(graph, options.weights ?? 'inputs', names.x);
  const wEnc = weights.declare(names.wEnc, [config.dIn, config.dSae]);
  const bEnc = weights.declare(names.bEnc, [config.dSae]);
  let sae_in = normalise(graph, names.x, config);
  if (config.applyBDecToInput) sae_in = graph.op('Sub', [sae_in, weights.declare(names.bDec, [config.dIn])]);
  // Gemm fuses the bias into the matrix product: pre = sae_in · W_enc + b_enc, [rows, dSae].
  const pre = graph.op('Gemm', [sae_in, wEnc, bEnc]);
  let threshold: string | null = null;
  if (options.featureThresholds === true && options.activation !== 'dense-relu') threshold = weights.declare(names.threshold, [config.dSae]);
  const result = options.activation === 'dense-relu' ? { kind: 'dense' as const, codes: graph.op('Relu', [pre]) } : architecture.buildActivation(graph, pre, config, threshold);
  const out = SAE_GRAPH_OUTPUTS;
  if (result.kind === 'topk' && options.output === 'sparse') {
    const k = architecture.rowK(config) as number;
    graph.output(result.values, out.values, 'float32', ['rows', k]);
    graph.output(result.indices, out.indices, 'int64', ['rows', k]);
    return { bytes: graph.toBytes(), inputs: weights.inputs, external: weights.external, outputs: [out.values, out.indices] };
  }
  let codes: string;
  if (result.kind === 'topk') {
    const zeros = graph.op('ConstantOfShape', [graph.op('Shape', [pre])]);
    codes = graph.op('ScatterElements', [zeros, result.indices, result.values], { axis: 1 });
  } else {
    codes = result.codes;
  }
  graph.output(codes, out.codes, 'float32', ['rows', config.dSae]);
  return { bytes: graph.toBytes(), inputs: weights.inputs, external: weights.external, outputs: [out.codes] };
}

/**
 * Decode graph: `codes [rows, dSae]` → reconstruction `[rows, dIn]` = codes · W_dec + b_dec
 * (W_dec = W_encᵀ when tied), divided by the `scale` normalisation factor when there is one.
 */
export function buildSaeDecodeGraph(config: SaeConfig, options: { weights?: WeightPlacement } = {}): SaeGraph {
  const graph = new OnnxGraph(`sae_decode_${config.architecture}`);
  const names = SAE_GRAPH_INPUTS;
  graph.input(names.codes, 'float32', ['rows', config.dSae]);
  const weights = new WeightDeclarations(graph, options.weights ?? 'inputs', names.codes);
  const bDec = weights.declare(names.bDec, [config.dIn]);
  let reconstruction = config.tied
    ? graph.op('Gemm', [names.codes, weights.declare(names.wEnc, [config.dIn, config.dSae]), bDec], { transB: 1 })
    : graph.op('Gemm', [names.codes, weights.declare(names.wDec, [config.dSae, config.dIn]), bDec]);
  if (config.normalisation.kind === 'scale') reconstruction = graph.op('Div', [reconstruction, graph.constantFloat([config.normalisation.factor])]);
  graph.output(reconstruction, SAE_GRAPH_OUTPUTS.reconstruction, 'float32', ['rows', config.dIn]);
  return { bytes: graph.toBytes(), inputs: weights.inputs, external: weights.external, outputs: [SAE_GRAPH_OUTPUTS.reconstruction] };
}
