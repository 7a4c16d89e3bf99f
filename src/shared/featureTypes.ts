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
  /** The dataset's role (anchor, seed, eval, …); null when the dataset row is gone. */
  datasetRole?: string | null;
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

/** A feature's numbers in one dataset (or pooled): samples with g_i stored, their mean g_i, the max g_i. */
export interface FeatureDatasetStats {
  count: number;
  mean: number;
  max: number;
}

/** A dataset indexed (ready) in a space, as the table's per-dataset columns name it. */
export interface FeatureDatasetRef {
  datasetId: number;
  name: string | null;
  role: string | null;
  samples: number;
}

/** One row of the feature table: totals over the scope (every ready index of the space, or the one dataset asked for). */
export interface FeatureTableRow {
  feature: number;
  /** Samples (in the scope) with g_i stored, i.e. g_i > the space's floor (0 by default). */
  count: number;
  /** Mean g_i over those samples. */
  mean: number;
  max: number;
  /** The same numbers per ready dataset, in the order of {@link FeatureTablePage.datasets}. */
  byDataset?: FeatureDatasetStats[];
}

export interface FeatureTablePage {
  /** Rows matching (before offset/limit). */
  total: number;
  offset: number;
  rows: FeatureTableRow[];
  /** Samples over the scope's ready indexes. */
  samples: number;
  /** Every ready dataset of the space (the per-dataset columns). */
  datasets?: FeatureDatasetRef[];
  /** The dataset the counts are restricted to, or null for all. */
  dataset?: number | null;
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
  /** Other samples whose stored span has exactly this text (left out of the list, highest g first). */
  duplicates?: { dataset: string | null; datasetId: number; ordinal: number; value: number }[];
}

export interface FeatureDetail extends FeatureTableRow {
  spaceId: number;
  samples: number;
  /**
   * Linear bins over (floor, max]: `edges` [bins + 1], `counts` [bins] of samples with g_i in
   * (edges[b], edges[b + 1]]; `byDataset` the same bins per dataset of the scope.
   */
  histogram: { edges: number[]; counts: number[]; byDataset?: { datasetId: number; counts: number[] }[] };
  spans: FeatureSpan[];
  /** The dataset the numbers, histogram and spans are restricted to, or null for all. */
  dataset?: number | null;
  /** The feature's numbers in every ready dataset of the space. */
  datasets?: (FeatureDatasetRef & FeatureDatasetStats)[];
}

/** One token of a span's context. */
export interface FeatureContextToken {
  /** Position in the templated token sequence. */
  position: number;
  /** Its text (a character split over several tokens is given whole to the first of them). */
  text: string;
  /** The feature's code at this token (0 where the SAE did not fire). */
  value: number;
  /** A control token of the chat template (`<|start_header_id|>`, `<|eot_id|>`, …). */
  special: boolean;
}

/** A sample's tokens around a feature's peak, with the feature's code at each token. */
export interface FeatureSpanContext {
  datasetId: number;
  ordinal: number;
  feature: number;
  /** First token the index reads (after the template's prefix). */
  t0: number;
  tokenCount: number;
  /** Peak position (the index's, which the recomputed codes reproduce) and g recomputed from the codes. */
  peak: number;
  g: number;
  tokens: FeatureContextToken[];
  /** Tokens left out before / after the window. */
  cutBefore: boolean;
  cutAfter: boolean;
}

export interface FeatureSpanContexts {
  contexts: FeatureSpanContext[];
  /** Seconds spent running the model and SAE (0 when every sample came from the cache). */
  seconds: number;
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
