/** Cross-model feature matching (src/core/compare) as the API and the UI see it. */

/** A dataset matched over, with its ready index in each space. */
export interface CompareDatasetRef {
  datasetId: number;
  dataset: string;
  samples: number;
  indexA: number;
  indexB: number;
}

export interface CompareParams {
  minSupport: number;
  top: number;
  /** Entries at or below this g count as zero (dense-relu: δ). */
  threshold: number;
  maxPairs: number;
}

export interface CompareSpaceRef {
  id: number;
  model: string;
  sae: string;
  layer: number;
  encode: string;
  template: boolean;
  dSae: number;
}

/** A score beside its null from random pairings; null where it could not be computed (too few pairs). */
export interface CompareScores {
  svcca: number | null;
  svccaNull: number | null;
  rsa: number | null;
  rsaNull: number | null;
}

export interface CompareSummary {
  spaceA: CompareSpaceRef;
  spaceB: CompareSpaceRef;
  samples: number;
  supportedA: number;
  supportedB: number;
  /** Pairs (best partner of each supported A feature). */
  pairCount: number;
  mutual: number;
  meanCorrelation: number | null;
  /** Over decoder directions (the headline numbers; Lan et al. compare decoders). */
  decoder: CompareScores | null;
  /** Over activation profiles across the shared samples. */
  profiles: CompareScores;
  pairsUsed: number;
  nullRepeats: number;
  /** Shared map of a random subset of pairs; absent in runs stored before it existed. */
  map?: SharedFeatureMap;
  pairUpdates: number;
  seconds: number;
}

/** An analogous pair: b is a's best partner in B by Pearson correlation of per-sample g. */
export interface ComparePair {
  a: number;
  b: number;
  correlation: number;
  /** a is also b's best partner among A's supported features. */
  mutual: boolean;
}

export interface CompareRunView extends CompareSummary {
  runId: number;
  method: string;
  params: CompareParams;
  datasets: CompareDatasetRef[];
  pairs: ComparePair[];
  /** True when the same request had been answered before and nothing was computed. */
  reused: boolean;
  /** When the run was made (ISO 8601), so runs over the same datasets can be told apart. */
  createdAt?: string;
}

export interface TransferredFeature {
  a: number;
  b: number;
  correlation: number;
  mutual: boolean;
}

export interface TransferResult {
  runId: number;
  coverageRunId: number;
  spaceA: number;
  spaceB: number;
  threshold: number;
  minCorrelation: number;
  /** Missing features of the coverage run. */
  missing: number;
  /** Missing features without a partner at or above the bound (or with too little support to be matched). */
  unmatched: number[];
  mapping: TransferredFeature[];
  /** Distinct B features, ascending: the `--features` list for coverage or synthesis in B. */
  features: number[];
}

/** One model token placed in the sample's text: characters [start, end) of `PairTokenView.text`. */
export interface TokenActivation {
  /** Position in the model's templated token sequence. */
  token: number;
  start: number;
  end: number;
  /** The token's own text (a token may cover more than the characters placed, e.g. a leading space). */
  piece: string;
  /** The feature's code at this token. */
  value: number;
}

export interface PairTokenSide {
  spaceId: number;
  model: string;
  sae: string;
  feature: number;
  tokenCount: number;
  t0: number;
  /** max over tokens t ≥ t0 (the sample's g for this feature) and where it peaks. */
  g: number;
  peak: number | null;
  tokens: TokenActivation[];
}

/** Both features of a matched pair on one sample, token by token, aligned through character offsets. */
export interface PairTokenView {
  runId: number;
  datasetId: number;
  ordinal: number;
  /** The sample's turns' contents joined by a blank line. */
  text: string;
  a: PairTokenSide;
  b: PairTokenSide;
}

/** A 2-D layout of both spaces' features from their activation profiles (classical MDS); point i and point i + n/2 are a matched pair. */
export interface SharedFeatureMap {
  points: { space: 'A' | 'B'; feature: number; x: number; y: number; correlation: number }[];
}
