/**
 * Feature index and coverage as the UI sees them. The engine returns the core records, which are
 * checked against these shapes where the handlers are bound.
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

export interface FeatureTableRowView {
  feature: number;
  /** Samples over all indexed datasets whose g_i is stored (above the floor). */
  count: number;
  mean: number;
  max: number;
}

export interface FeatureTablePageView {
  total: number;
  offset: number;
  rows: FeatureTableRowView[];
  samples: number;
}

export interface FeatureSpanView {
  dataset: string | null;
  datasetId: number;
  ordinal: number;
  value: number;
  peak: number;
  startToken: number;
  prefixText: string;
  peakText: string;
}

export interface FeatureDetailView extends FeatureTableRowView {
  spaceId: number;
  samples: number;
  histogram: { edges: number[]; counts: number[] };
  spans: FeatureSpanView[];
}

export interface CoverageAtThresholdView {
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
}

export interface MissingFeatureView {
  feature: number;
  anchorSamples: number;
  anchorMean: number;
  anchorMax: number;
  spans: FeatureSpanView[];
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
  results: CoverageAtThresholdView[];
  topMissing: MissingFeatureView[];
  computeSeconds: number;
}

export interface CoverageRunView {
  id: number;
  createdAt: string;
  result: CoverageReportView;
}
