/** Results of the evaluation tools (diversity report, probes, steering), as every shell sees them. */

export interface DatasetDiversity {
  name: string;
  size: number;
  distinct1: number;
  distinct2: number;
  ngramDiversity: number;
  bigramEntropy: number;
  selfBleu4: number;
  selfBleuScored: number;
  compressionRatio: number;
  embeddingCosineDistance: number;
  vendi: number;
  embeddedSamples: number;
  /** Tokens after the chat-template prefix (t ≥ t0), per sample. */
  meanTokens: number;
  medianTokens: number;
  tokenHistogram: { edges: number[]; counts: number[] };
  coverage: { threshold: number; fac: number | null; activeFeatures: number }[];
  /** FAC of a subset whose length histogram is the same in every dataset (see `lengthMatching`). */
  lengthMatchedCoverage: { threshold: number; fac: number | null; samples: number }[];
}

export interface DiversityReport {
  model: string;
  sae: string;
  layer: number;
  spaceId: number;
  anchor: string;
  thresholds: number[];
  embedding: string;
  lengthMatching: string;
  definitions: Record<string, string>;
  datasets: DatasetDiversity[];
  seconds: number;
}

export interface ProbeRun {
  train: string[];
  trainSamples: number;
  perSeed: { seed: number; auprc: number | null; auroc: number | null; accuracy: number }[];
  auprc: { mean: number; std: number } | null;
  auroc: { mean: number; std: number } | null;
  accuracy: { mean: number; std: number };
  /** Classify probes: the precision–recall curve of the first seed's head (its step area is that seed's AUPRC). */
  curve?: { recall: number; precision: number }[];
}

export interface ProbeReport {
  kind: 'classify' | 'reward';
  model: string;
  eval: string;
  evalSamples: number;
  settings: { epochs: number; learningRate: number; l2: number; seeds: number[]; features: string };
  /** The first training configuration's results at the first seed, in the documented shape. */
  auprc: number | null;
  auroc: number | null;
  accuracy: number;
  /** Every eval sample with its score under the first configuration and seed (classify: P(label 1); reward: r(chosen) − r(rejected)). */
  scores: { text: string; label: 0 | 1; score: number }[];
  runs: ProbeRun[];
  seconds: number;
}

/** `facet steer vector`. */
export interface SteeringVectorResult {
  out: string;
  controlVector: string | null;
  layer: number;
  items: number;
  norm: number;
}

/** `facet steer eval`. */
export interface SteeringEvaluation {
  dataset: string;
  /** The vector file evaluated. */
  vector: string;
  layer: number;
  items: number;
  multipliers: { multiplier: number; robustAccuracy: number; accuracy: number }[];
  /** Robust accuracy at +1 minus at −1; null without both multipliers. */
  steeringControlRate: number | null;
}

/** `facet sae drift`: one SAE across quantized variants of a model; the first variant is the reference. */
export interface SaeDriftReport {
  sae: string;
  dataset: string;
  /** δ for "active". */
  threshold: number;
  variants: {
    model: string;
    quantization: string | null;
    spaceId: number;
    normalisedMse: number;
    fractionOfVarianceUnexplained: number;
    l0: number;
    deadFeatures: number;
    /** Features active (g > δ) in at least one sample. */
    activeFeatures: number;
    /** Share of the reference's active features this variant also activates. */
    facAgainstReference: number | null;
    /** Mean over samples of |S ∩ S_ref| / |S ∪ S_ref| of the active feature sets (1 when both are empty). */
    meanJaccard: number | null;
  }[];
  seconds: number;
}
