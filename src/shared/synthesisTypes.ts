import type { NormalizedSample } from './datasetTypes.ts';

/** Output formats FAC Synthesis writes; `custom` reads a prompt template and JSON schema from a spec file. */
export const synthesisTasks = ['toxicity', 'helpfulness', 'sycophancy', 'survival-instinct', 'instruction-following', 'custom'] as const;
export type SynthesisTaskName = (typeof synthesisTasks)[number];

/** Why the gate turned a step-2 candidate away (or `not-kept`: it passed, but `keep` others ranked higher). */
export const rejectionReasons = ['unparseable', 'format', 'below-threshold', 'incoherent', 'near-duplicate', 'not-kept', 'removed'] as const;
export type RejectionReason = (typeof rejectionReasons)[number];

/** Everything that makes an accepted sample reproducible and auditable. */
export interface SynthesisRecord {
  runId: number;
  feature: number;
  /** g_target of the exported text, measured by capture + SAE encode in the index's feature space. */
  activation: number;
  /** 1 = highest activation among the feature's step-2 candidates that passed the gate. */
  rank: number;
  /** x⁺ of the contrastive pair was the top anchor span (fewer than 2 step-1 candidates activated). */
  fallback: boolean;
  step: 1 | 2;
  generator: string;
  generatorHash: string;
  measuringModel: string;
  measuringModelHash: string;
  sae: string;
  saeHash: string;
  layer: number;
  threshold: number;
  encode: string;
  template: boolean;
  kv: 'f16' | 'f32';
  task: string;
  promptVersion: number;
  promptHash: string;
  seed: number;
  sampling: { temperature: number; topP: number; maxTokens: number };
  /** Strength of the target feature's decoder direction added during generation (0 = unsteered). */
  steering: number;
  perplexity: number | null;
  coherenceBound: number | null;
  overlap: number;
  /** True when a person edited the text after generation (it was measured again). */
  edited?: boolean;
  createdAt: string;
}

export interface AcceptedSample {
  feature: number;
  activation: number;
  /** Exactly the text the gate measured: the sample's turns as the model's template renders them. */
  text: string;
  sample: NormalizedSample;
  sampleId: number;
  record: SynthesisRecord;
}

export interface RejectedCandidate {
  candidateId: number;
  feature: number;
  step: 1 | 2;
  reason: RejectionReason;
  /** Null when the candidate could not be measured (it did not parse). */
  activation: number | null;
  perplexity: number | null;
  overlap: number | null;
  steering: number;
  detail: string | null;
  /** The raw generator output, cut to 2,000 characters. */
  raw: string;
}

/** FAC before and after synthesis at one δ. */
export interface SynthesisCoverage {
  threshold: number;
  seedFac: number | null;
  combinedFac: number | null;
  /** Share of the seed's missing features (at this δ) that the synthetic set activates: the paper's number. */
  missingShareActivated: number | null;
  missing: number;
  missingActivated: number;
}

/** Acceptance and coherence per steering strength (0 = unsteered). */
export interface SteeringSummary {
  strength: number;
  candidates: number;
  passed: number;
  acceptance: number | null;
  meanPerplexity: number | null;
}

export interface CoherenceBound {
  /** Perplexity above this is incoherent: the `quantile` of the anchor samples' perplexities times `slack`. */
  bound: number | null;
  quantile: number;
  slack: number;
  anchorSamples: number;
  anchorMedian: number | null;
  /** Which model scored perplexity (the generator when local, else the measuring model). */
  model: string;
}

export interface SynthesisReport {
  runId: number;
  dataset: string;
  datasetId: number;
  task: string;
  /** Names of the anchor and seed datasets the run started from. */
  anchor: string;
  seed: string;
  spaceId: number;
  coverageRunId: number | null;
  features: number[];
  accepted: AcceptedSample[];
  rejected: RejectedCandidate[];
  coverage: SynthesisCoverage[];
  coherence: CoherenceBound;
  steering: SteeringSummary[];
  /** Features that got no accepted sample. */
  uncovered: number[];
  candidates: number;
  seconds: number;
  /** Seconds spent verifying: re-measuring candidates (capture up to the SAE layer + encode), perplexities (the anchor bound included), n-gram checks and the final index of the synthetic set. */
  gateSeconds: number;
}

/** One synthesis run as the UI lists it. */
export interface SynthesisRunView {
  id: number;
  jobId: string | null;
  task: string;
  state: 'running' | 'done' | 'failed';
  dataset: string | null;
  datasetId: number | null;
  features: number[];
  finishedFeatures: number;
  createdAt: string;
  /** The finished run's report without its sample and rejection lists (those come from `synthesis.candidates`). */
  report: (Omit<SynthesisReport, 'accepted' | 'rejected'> & { acceptedCount: number; rejectedCount: number }) | null;
}

/** One stored candidate, for the live view of a run. */
export interface SynthesisCandidateView {
  id: number;
  runId: number;
  feature: number;
  step: 1 | 2;
  steering: number;
  outcome: 'accepted' | 'contrast' | RejectionReason;
  activation: number | null;
  perplexity: number | null;
  overlap: number | null;
  detail: string | null;
  /** The parsed sample's text (turn contents), else the raw output; cut to 2,000 characters. */
  text: string;
  sampleId: number | null;
}

/** Layouts `datasets.export` writes (JSON Lines). */
export const exportFormats = ['auto', 'text', 'preference', 'caa', 'alpaca', 'openai', 'sharegpt'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export interface DatasetExportView {
  dataset: string;
  format: Exclude<ExportFormat, 'auto'>;
  samples: number;
  files: { data: string; card: string; parquet?: string };
}

/** Lineage of one sample of a plain (feature-free) synthesis baseline, kept in the sample's `meta.synthesis`. */
export interface PlainSynthesisRecord {
  baseline: 'plain';
  /** The feature-guided run whose generator, task, sampling, gate and budget it copies. */
  like: number;
  generator: string;
  generatorHash: string;
  task: string;
  promptVersion: number;
  promptHash: string;
  seed: number;
  sampling: { temperature: number; topP: number; maxTokens: number };
  perplexity: number | null;
  /** The guided run's coherence bound, when it was applied. */
  coherenceBound: number | null;
  overlap: number;
  createdAt: string;
}

/** What `facet synthesize --baseline plain` reports: the same-budget control next to its guided run. */
export interface PlainSynthesisReport {
  baseline: 'plain';
  like: number;
  dataset: string;
  datasetId: number;
  task: string;
  anchor: string;
  seed: string;
  /** The guided run's synthetic dataset, for side-by-side comparison. */
  guidedDataset: string;
  /** Samples asked for (the guided run's accepted count unless overridden). */
  requested: number;
  /** Candidates allowed: the guided run's candidates per kept sample × requested. */
  budget: number;
  /** Candidates generated. */
  candidates: number;
  accepted: { text: string; record: PlainSynthesisRecord }[];
  /** Rejected candidates by reason (invalid-json, incoherent, near-duplicate, not-kept …). */
  rejected: Record<string, number>;
  /** FAC of seed and seed ∪ plain at each δ, with F as the guided run had it. */
  coverage: SynthesisCoverage[];
  /** The guided run's own FAC rows, for the same δ values. */
  guidedCoverage: SynthesisCoverage[];
  seconds: number;
}

/** The source recorded on a plain baseline's dataset: how the app finds the baseline of a run. */
export function plainBaselineSource(runId: number): string {
  return `plain synthesis baseline for run ${runId}: same generator, task, sampling, gate and candidate budget, no feature targets`;
}
