import type { CoverageAtThreshold, CoverageReportView, CoverageRunView, MissingFeature } from './featureTypes.ts';

/**
 * Something about the datasets picked for a coverage run that makes the numbers misleading but
 * not meaningless (a dataset used in a role it was not registered for). Runs go ahead; the issue
 * is saved with the run and shown beside its numbers.
 */
export interface CoverageWarning {
  code: 'ANCHOR_ROLE_MISMATCH' | 'SEED_ROLE_MISMATCH' | 'EVAL_ROLE_MISMATCH' | 'EVAL_IS_ANCHOR' | 'EVAL_IS_SEED';
  /** Which pick it concerns. */
  field: 'anchor' | 'seed' | 'eval';
  message: string;
}

/** `coverage.check`: what a run with these datasets would be warned about, or the error that stops it. */
export interface CoverageCheck {
  warnings: CoverageWarning[];
  /** Set when the run is meaningless (anchor = seed): `coverage.run` refuses it with this code and message. */
  error: { code: string; message: string } | null;
}

/** The missing features F(P) \ F(seed) of a run at one of its δ, ranked, with spans from the anchor only. */
export interface CoverageMissingPage {
  runId: number;
  threshold: number;
  /** |F(P) \ F(seed)| at this δ. */
  total: number;
  /** The first `limit`, most frequent in the anchor first (n_i(δ), then mean g, then id). */
  features: MissingFeature[];
}

/** One feature of F active in the anchor or the seed at δ. */
export interface CoverageScatterPoint {
  feature: number;
  /** Share of anchor samples with g_i > δ. */
  anchor: number;
  /** Share of seed samples with g_i > δ. */
  seed: number;
  /** Active in the anchor, in no seed sample. */
  missing: boolean;
}

export interface CoverageScatter {
  runId: number;
  threshold: number;
  anchorSamples: number;
  seedSamples: number;
  /** Features of F active in either set. */
  total: number;
  /** At most `limit`: every missing feature first (up to the limit), then the most frequent others. */
  points: CoverageScatterPoint[];
}

export interface CoverageRunSummary {
  id: number;
  createdAt: string;
  spaceId: number | null;
  model: string;
  sae: string;
  layer: number;
  encode: string;
  anchor: string;
  seed: string;
  featureCount: number;
  task?: string;
}

/** Two runs side by side: FAC per δ (the union of both runs' δ), and per common δ which features changed. */
export interface CoverageComparison {
  a: CoverageRunSummary;
  b: CoverageRunSummary;
  rows: { threshold: number; a: CoverageAtThreshold | null; b: CoverageAtThreshold | null }[];
  /** Same model, layer, SAE and encode mode: feature ids mean the same in both runs. */
  sameSpace: boolean;
  /**
   * Per δ both runs measured (same space only): features covered in b and not in a (`newlyCovered`),
   * covered in a and not in b (`lost`); covered = in F(P) and activated by the seed.
   */
  features: { threshold: number; newlyCovered: number[]; lost: number[] }[];
  /** Why `features` is empty, when it is. */
  note?: string;
}

export const coverageExportFormats = ['csv', 'json'] as const;
export type CoverageExportFormat = (typeof coverageExportFormats)[number];

export interface CoverageExport {
  fileName: string;
  mediaType: string;
  content: string;
}

/** A saved run as the UI sees it: the report plus the warnings saved with it. */
export interface CoverageRunDetail extends CoverageRunView {
  result: CoverageReportView & { warnings?: CoverageWarning[] };
}
