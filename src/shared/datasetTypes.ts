/** The internal shape of every imported sample, whatever the file format was. */
export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Preference pairs carry two continuations of the shared history; CAA items two answer labels. */
export type SamplePair =
  | { kind: 'preference'; chosen: ChatTurn[]; rejected: ChatTurn[] }
  | { kind: 'ab'; matching: string; notMatching: string };

export interface NormalizedSample {
  /** The conversation (for preference pairs: the history shared by both sides). */
  turns: ChatTurn[];
  label?: string;
  pair?: SamplePair;
  /** Fields of the source record that are not content (e.g. IFEval's instruction ids). */
  meta?: Record<string, unknown>;
}

export const datasetFormats = ['alpaca', 'openai', 'sharegpt', 'text', 'preference', 'caa', 'csv'] as const;
export type DatasetFormat = (typeof datasetFormats)[number];
/** `synthetic`: written by FAC Synthesis (each sample has its lineage in `synthetic_samples`). */
export const datasetRoles = ['seed', 'anchor', 'eval', 'synthetic'] as const;
export type DatasetRole = (typeof datasetRoles)[number];

export interface DatasetSummary {
  id: number;
  name: string;
  role: DatasetRole;
  format: DatasetFormat;
  sourcePath: string;
  state: 'importing' | 'ready';
  sampleCount: number;
  duplicateCount: number;
  invalidCount: number;
  createdAt: string;
  /** Things the import let through but the user should know (e.g. bytes that were not UTF-8); only on an import job's result. */
  warnings?: string[];
}

export interface SampleRow extends NormalizedSample {
  id: number;
  ordinal: number;
  sourceLine: number;
  contentHash: string;
}
