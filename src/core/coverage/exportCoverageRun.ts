import type { CoverageExport, CoverageExportFormat } from '../../shared/coverageTypes.ts';
import type { Store } from '../store/Store.ts';
import { getCoverageRun } from './measureCoverage.ts';

/** CSV columns, one row per δ. Numbers are written as stored (full precision), empty for null. */
export const coverageCsvColumns = [
  'run_id',
  'created_at',
  'model',
  'sae',
  'layer',
  'encode',
  'anchor',
  'anchor_samples',
  'seed',
  'seed_samples',
  'eval',
  'features_in_F',
  'task',
  'threshold',
  'anchor_active',
  'seed_active',
  'covered',
  'fac',
  'fac_freq',
  'fac_magnitude',
  'missing_count',
  'eval_active',
  'eval_fac',
  'missing_activated_by_eval',
  'missing_share_activated_by_eval',
  'missing_features',
] as const;

function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A saved coverage run as a file. JSON: the run as stored ({id, createdAt, request, result}).
 * CSV: one row per δ with the run's identity, the counts, FAC and its variants, and the missing
 * feature ids separated by spaces.
 */
export function exportCoverageRun(store: Store, id: number, format: CoverageExportFormat): CoverageExport {
  const run = getCoverageRun(store, id);
  if (format === 'json') {
    return { fileName: `coverage-run-${id}.json`, mediaType: 'application/json', content: `${JSON.stringify({ id: run.id, createdAt: run.createdAt, request: run.request, result: run.result }, null, 2)}\n` };
  }
  const { result } = run;
  const lines = [coverageCsvColumns.join(',')];
  for (const row of result.results) {
    const record: Record<(typeof coverageCsvColumns)[number], string | number | null | undefined> = {
      run_id: run.id,
      created_at: run.createdAt,
      model: result.model,
      sae: result.sae,
      layer: result.layer,
      encode: result.encode,
      anchor: result.anchor.dataset,
      anchor_samples: result.anchor.samples,
      seed: result.seed.dataset,
      seed_samples: result.seed.samples,
      eval: result.eval?.dataset,
      features_in_F: result.featureCount,
      task: result.task,
      threshold: row.threshold,
      anchor_active: row.anchorActive,
      seed_active: row.seedActive,
      covered: row.covered,
      fac: row.fac,
      fac_freq: row.facFreq,
      fac_magnitude: row.facMagnitude,
      missing_count: row.missing.length,
      eval_active: row.evalActive,
      eval_fac: row.evalFac,
      missing_activated_by_eval: row.missingActivatedByEval,
      missing_share_activated_by_eval: row.missingShareActivatedByEval,
      missing_features: row.missing.join(' '),
    };
    lines.push(coverageCsvColumns.map((column) => csvField(record[column])).join(','));
  }
  return { fileName: `coverage-run-${id}.csv`, mediaType: 'text/csv', content: `${lines.join('\n')}\n` };
}
