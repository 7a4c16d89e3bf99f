import { FacetError } from '../../shared/FacetError.ts';
import type { OnnxGraph } from './OnnxGraph.ts';
import { SAE_ARCHITECTURE_NAMES, type SaeArchitectureName, type SaeConfig } from './SaeConfig.ts';

/**
 * What the encoder's activation produces inside an ONNX graph: dense codes `[rows, dSae]`, or,
 * for per-row TopK, the K kept values and their feature indices (`[rows, K]`, int64), which the
 * graph builder scatters into dense codes when asked.
 */
export type OnnxActivationResult = { kind: 'dense'; codes: string } | { kind: 'topk'; values: string; indices: string };

/** One entry of the architecture registry: the activation function in both of its forms. */
export interface SaeArchitecture {
  name: SaeArchitectureName;
  summary: string;
  /**
   * Throws `SAE_ARCH_UNKNOWN` when the config lacks what the architecture needs;
   * `hasFeatureThresholds`: the weights carry a per-feature threshold vector.
   */
  validate(config: SaeConfig, hasFeatureThresholds: boolean): void;
  /** K when encoding keeps at most K features per row; null otherwise. */
  rowK(config: SaeConfig): number | null;
  /**
   * Adds the activation to `graph`. `pre` is `[rows, dSae]` float32; `threshold` names the
   * `[dSae]` per-feature threshold input when the SAE has one.
   */
  buildActivation(graph: OnnxGraph, pre: string, config: SaeConfig, threshold: string | null): OnnxActivationResult;
  /** Float64 reference: turns one row of pre-activations into codes in place. */
  activateRow(pre: Float64Array, config: SaeConfig, threshold: Float32Array | null): void;
}

function relu(pre: Float64Array): void {
  for (let i = 0; i < pre.length; i++) if (!((pre[i] as number) > 0)) pre[i] = 0;
}

/**
 * Keeps the k largest entries (ties: the lower index wins, as onnxruntime's TopK does), then
 * ReLU unless `signed`; all other entries become 0.
 */
export function topKRow(pre: Float64Array, k: number, signed = false): void {
  const order = Array.from(pre.keys()).sort((a, b) => (pre[b] as number) - (pre[a] as number) || a - b);
  const keep = new Set(order.slice(0, k));
  for (let i = 0; i < pre.length; i++) {
    const value = pre[i] as number;
    pre[i] = keep.has(i) && (signed || value > 0) ? value : 0;
  }
}

/** relu(pre) where pre > θ (strictly), else 0. */
function thresholdRow(pre: Float64Array, scalar: number | null, perFeature: Float32Array | null): void {
  for (let i = 0; i < pre.length; i++) {
    const theta = perFeature !== null ? (perFeature[i] as number) : (scalar as number);
    const value = pre[i] as number;
    pre[i] = value > theta && value > 0 ? value : 0;
  }
}

function onnxTopK(graph: OnnxGraph, pre: string, k: number, signed = false): OnnxActivationResult {
  const [values, indices] = graph.node('TopK', [pre, graph.constantInt64([k])], 2, { axis: -1, largest: 1, sorted: 1 });
  return { kind: 'topk', values: signed ? (values as string) : graph.op('Relu', [values as string]), indices: indices as string };
}

function onnxThreshold(graph: OnnxGraph, pre: string, threshold: string): OnnxActivationResult {
  const above = graph.op('Greater', [pre, threshold]);
  const codes = graph.op('Where', [above, graph.op('Relu', [pre]), graph.constantFloat([0])]);
  return { kind: 'dense', codes };
}

function requireK(config: SaeConfig): number {
  if (config.k === null || !Number.isInteger(config.k) || config.k < 1 || config.k > config.dSae) {
    throw new FacetError('SAE_ARCH_UNKNOWN', `A ${config.architecture} SAE needs an integer K between 1 and d_sae=${config.dSae} (got ${String(config.k)}). Give k in the SAE's config file.`, { architecture: config.architecture, k: config.k });
  }
  return config.k;
}

function missingThreshold(): FacetError {
  return new FacetError('SAE_ARCH_UNKNOWN', 'A jumprelu SAE needs a threshold (one value, or a `threshold` tensor with one per feature). Add it to the SAE file.', { architecture: 'jumprelu' });
}

const standard: SaeArchitecture = {
  name: 'standard',
  summary: 'ReLU over every feature',
  validate() {},
  rowK: () => null,
  buildActivation: (graph, pre) => ({ kind: 'dense', codes: graph.op('Relu', [pre]) }),
  activateRow: (pre) => relu(pre),
};

const topk: SaeArchitecture = {
  name: 'topk',
  summary: 'keep the K largest pre-activations per row, then ReLU',
  validate: (config) => void requireK(config),
  rowK: (config) => requireK(config),
  buildActivation: (graph, pre, config) => onnxTopK(graph, pre, requireK(config), config.signedTopK === true),
  activateRow: (pre, config) => topKRow(pre, requireK(config), config.signedTopK === true),
};

const jumprelu: SaeArchitecture = {
  name: 'jumprelu',
  summary: 'keep pre-activations strictly above a per-feature (or one) threshold',
  validate(config, hasFeatureThresholds) {
    if (config.threshold === null && !hasFeatureThresholds) throw missingThreshold();
  },
  rowK: () => null,
  buildActivation(graph, pre, config, threshold) {
    const theta = threshold ?? (config.threshold !== null ? graph.constantFloat([config.threshold]) : null);
    if (theta === null) throw missingThreshold();
    return onnxThreshold(graph, pre, theta);
  },
  activateRow(pre, config, threshold) {
    if (threshold === null && config.threshold === null) throw missingThreshold();
    thresholdRow(pre, config.threshold, threshold);
  },
};

const batchtopk: SaeArchitecture = {
  name: 'batchtopk',
  summary: 'batch TopK in training; at inference per-row TopK, or ReLU above a global threshold when one is given',
  validate(config) {
    if (config.threshold === null) requireK(config);
  },
  rowK: (config) => (config.threshold === null ? requireK(config) : null),
  buildActivation(graph, pre, config) {
    if (config.threshold === null) return onnxTopK(graph, pre, requireK(config));
    return onnxThreshold(graph, pre, graph.constantFloat([config.threshold]));
  },
  activateRow(pre, config) {
    if (config.threshold === null) topKRow(pre, requireK(config));
    else thresholdRow(pre, config.threshold, null);
  },
};

const REGISTRY: Record<SaeArchitectureName, SaeArchitecture> = { standard, topk, jumprelu, batchtopk };

/** The registry entry for `name`; throws `SAE_ARCH_UNKNOWN` listing the known names. */
export function getSaeArchitecture(name: string): SaeArchitecture {
  const entry = (REGISTRY as Record<string, SaeArchitecture | undefined>)[name];
  if (entry === undefined) {
    throw new FacetError('SAE_ARCH_UNKNOWN', `Unknown SAE architecture '${name}'. Facet knows ${SAE_ARCHITECTURE_NAMES.join(', ')}; convert the SAE to one of them.`, { architecture: name, known: SAE_ARCHITECTURE_NAMES });
  }
  return entry;
}

export function isSaeArchitectureName(name: string): name is SaeArchitectureName {
  return (SAE_ARCHITECTURE_NAMES as readonly string[]).includes(name);
}
