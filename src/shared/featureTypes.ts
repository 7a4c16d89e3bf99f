/**
 * Feature index and coverage results. The row, span, detail and coverage types are the single
 * definitions core uses; the `…View` types are what the UI needs of larger core records, which
 * are checked against them where the engine binds its handlers.
 */
export type FeatureEncodeModeName = 'topk' | 'dense-relu' | 'architecture';

export interface FeatureIndexView {
  id: number;
  datasetId: number;
  datasetName: string | null;
  state: 'indexing' | 'ready';
  sampleCount: number;
  indexedCount: number;
  entryCount: number;
  tokenCount: number;
}

/** One feature space: a (model, layer, SAE, encode mode, template, KV) combination. */
export interface FeatureSpaceView {
  id: number;
  saeName: string | null;
  modelName: string;
  /** llama.cpp 0-based `l_out` block index. */
  layer: number;
  encodeMode: FeatureEncodeModeName;
  template: boolean;
  kv: 'f16' | 'f32';
  minActivation: number;
  dSae: number;
  createdAt: string;
  indexes: FeatureIndexView[];
}

/** One row of the feature table: totals over every ready index of the space. */
export interface FeatureTableRow {
  feature: number;
  /** Samples (over all indexed datasets) with g_i stored, i.e. g_i > the space's floor (0 by default). */
  count: number;
  /** Mean g_i over those samples. */
  mean: number;
  max: number;
}

export interface FeatureTablePage {
  /** Rows matching (before offset/limit). */
  total: number;
  offset: number;
  rows: FeatureTableRow[];
  /** Samples over the space's ready indexes. */
  samples: number;
}

/** A stored span: up to 32 tokens ending with and including the peak token (never before t0). */
export interface FeatureSpan {
  dataset: string | null;
  datasetId: number;
  ordinal: number;
  value: number;
  /** Peak token position in the templated sample. */
  peak: number;
  startToken: number;
  /** Text of the tokens before the peak token, then of the peak token. */
  prefixText: string;
  peakText: string;
}

export interface FeatureDetail extends FeatureTableRow {
  spaceId: number;
  samples: number;
  /** Linear bins over (floor, max]: `edges` [bins + 1], `counts` [bins] of samples with g_i in (edges[b], edges[b + 1]]. */
  histogram: { edges: number[]; counts: number[] };
  spans: FeatureSpan[];
}

/**
 * Coverage at one threshold δ, over the feature set F. With A_X(δ) = {i ∈ F : ∃x ∈ X, g_i(x) > δ}:
 *
 * - `anchorActive` = |A_P|, `seedActive` = |A_seed|, `covered` = |A_P ∩ A_seed|.
 * - `fac` = covered / anchorActive (FAC of the seed set against the anchor set).
 * - `facFreq`: each feature of A_P weighted by the share of anchor samples that activate it,
 *   w_i = n_i / |P| with n_i = #{x ∈ P : g_i(x) > δ};
 *   facFreq = Σ_{i ∈ A_P ∩ A_seed} w_i / Σ_{i ∈ A_P} w_i.
 * - `facMagnitude`: each feature of A_P weighted by its mean activation over the anchor samples
 *   that activate it, m_i = Σ_{x ∈ P, g_i(x) > δ} g_i(x) / n_i;
 *   facMagnitude = Σ_{i ∈ A_P ∩ A_seed} m_i / Σ_{i ∈ A_P} m_i.
 * - `missing` = A_P \ A_seed, ascending.
 * - With an evaluated set C: `evalActive` = |A_C|, `evalFac` = |A_P ∩ A_C| / |A_P|,
 *   `missingActivatedByEval` = |missing ∩ A_C| and `missingShareActivatedByEval` =
 *   that / |missing| (the number the paper reports, e.g. 175 of 214).
 *
 * Ratios with an empty denominator are null.
 */
export interface CoverageAtThreshold {
  threshold: number;
  anchorActive: number;
  seedActive: number;
  covered: number;
  fac: number | null;
  facFreq: number | null;
  facMagnitude: number | null;
  missing: number[];
  evalActive?: number;
  evalFac?: number | null;
  missingActivatedByEval?: number;
  missingShareActivatedByEval?: number | null;
}

/** A missing feature (at the first δ) with what the anchor says about it. */
export interface MissingFeature {
  feature: number;
  /** n_i(δ): anchor samples activating it. */
  anchorSamples: number;
  /** Mean g_i over those samples. */
  anchorMean: number;
  anchorMax: number;
  spans: FeatureSpan[];
}

export interface CoverageDatasetRefView {
  dataset: string;
  datasetId: number;
  samples: number;
}

export interface CoverageReportView {
  runId: number;
  spaceId: number;
  model: string;
  sae: string;
  layer: number;
  encode: string;
  anchor: CoverageDatasetRefView;
  seed: CoverageDatasetRefView;
  eval?: CoverageDatasetRefView;
  featureCount: number;
  /** With a task: F is the features judged relevant to it. */
  task?: string;
  relevantFeatures?: number;
  /** Anchor-active features with no verdict for the task yet (not in F). */
  unjudgedFeatures?: number;
  results: CoverageAtThreshold[];
  topMissing: MissingFeature[];
  computeSeconds: number;
}

export interface CoverageRunView {
  id: number;
  createdAt: string;
  result: CoverageReportView;
}
