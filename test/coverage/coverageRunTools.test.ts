import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coverageDatasetCheck, requireCoverageDatasets } from '../../src/core/coverage/checkCoverageDatasets.ts';
import { compareCoverageRuns, coverageMissingAt, coverageScatter } from '../../src/core/coverage/coverageRunQueries.ts';
import { coverageCsvColumns, exportCoverageRun } from '../../src/core/coverage/exportCoverageRun.ts';
import { deleteCoverageRun, getCoverageRun } from '../../src/core/coverage/measureCoverage.ts';
import type { Store } from '../../src/core/store/Store.ts';
import { FacetError } from '../../src/shared/FacetError.ts';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';
import { forgeCoverageWorkspace } from './forgedCoverageWorkspace.ts';

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return error instanceof FacetError ? error.code : `not a FacetError: ${String(error)}`;
  }
  return undefined;
}

/** Splits simple CSV (no quoted commas in these fixtures' fields). */
function parseCsv(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trimEnd().split('\n');
  const columns = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [columns[i]!, value])));
}

const asNumber = (field: string): number | null => (field === '' ? null : Number(field));

describe('coverage runs: export, delete, missing at any δ, scatter, comparison (forged index)', () => {
  const home = tempHome('facet-coverage-tools-');
  let store: Store;
  let record: ReturnType<typeof forgeCoverageWorkspace>['record'];
  beforeAll(() => {
    ({ store, record } = forgeCoverageWorkspace(home.path));
  });
  afterAll(() => {
    store.close();
    home.remove();
  });

  it('exports CSV and JSON holding exactly the stored numbers', () => {
    const report = record({ seed: 'seed', eval: 'evalset', thresholds: [0, 0.75, 1.5] });
    const stored = getCoverageRun(store, report.runId);
    const csv = exportCoverageRun(store, report.runId, 'csv');
    expect(csv.fileName).toBe(`coverage-run-${report.runId}.csv`);
    const rows = parseCsv(csv.content);
    expect(Object.keys(rows[0]!)).toEqual([...coverageCsvColumns]);
    expect(rows).toHaveLength(3);
    rows.forEach((row, j) => {
      const result = stored.result.results[j]!;
      expect(asNumber(row['threshold']!)).toBe(result.threshold);
      expect(asNumber(row['anchor_active']!)).toBe(result.anchorActive);
      expect(asNumber(row['seed_active']!)).toBe(result.seedActive);
      expect(asNumber(row['covered']!)).toBe(result.covered);
      expect(asNumber(row['fac']!)).toBe(result.fac);
      expect(asNumber(row['fac_freq']!)).toBe(result.facFreq);
      expect(asNumber(row['fac_magnitude']!)).toBe(result.facMagnitude);
      expect(asNumber(row['missing_count']!)).toBe(result.missing.length);
      expect(asNumber(row['eval_active']!)).toBe(result.evalActive);
      expect(asNumber(row['missing_share_activated_by_eval']!)).toBe(result.missingShareActivatedByEval ?? null);
      expect(row['missing_features']!.split(' ').filter(Boolean).map(Number)).toEqual(result.missing);
      expect(row['anchor']).toBe('anchor');
      expect(row['seed']).toBe('seed');
    });
    // the hand-computed values of this fixture at δ = 0 (see computeCoverage.test.ts)
    expect(rows[0]!['fac']).toBe('0.5');
    expect(rows[0]!['missing_features']).toBe('3 4 5');
    const json = JSON.parse(exportCoverageRun(store, report.runId, 'json').content) as unknown;
    expect(json).toEqual({ id: stored.id, createdAt: stored.createdAt, request: stored.request, result: stored.result });
  });

  it('deletes one run and nothing else; an unknown run is NOT_FOUND', () => {
    const keep = record({ seed: 'seed' });
    const gone = record({ seed: 'seed2' });
    const tables = store.db.prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all().map((row) => row.name);
    const countAll = (): Record<string, number> => Object.fromEntries(tables.map((table) => [table, store.db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM "${table}"`).get()!.n]));
    const before = countAll();
    expect(deleteCoverageRun(store, gone.runId)).toEqual({ id: gone.runId });
    const after = countAll();
    expect(after).toEqual({ ...before, coverage_runs: before['coverage_runs']! - 1 });
    expect(codeOf(() => getCoverageRun(store, gone.runId))).toBe('NOT_FOUND');
    expect(getCoverageRun(store, keep.runId).result.seed.dataset).toBe('seed');
    expect(codeOf(() => deleteCoverageRun(store, gone.runId))).toBe('NOT_FOUND');
    expect(codeOf(() => deleteCoverageRun(store, 999_999))).toBe('NOT_FOUND');
    expect(countAll()).toEqual(after);
  });

  it('refuses anchor = seed with a coded error and warns about roles that do not fit', () => {
    const set = (id: number, role: 'anchor' | 'seed' | 'eval' | 'synthetic', name = `set${id}`) => ({ id, name, role });
    expect(coverageDatasetCheck(set(1, 'anchor'), set(2, 'seed'))).toEqual({ warnings: [], error: null });
    expect(coverageDatasetCheck(set(1, 'anchor'), set(2, 'synthetic'), set(3, 'eval')).warnings).toEqual([]);
    expect(coverageDatasetCheck(set(1, 'anchor'), set(1, 'anchor')).error?.code).toBe('COVERAGE_SAME_DATASET');
    expect(coverageDatasetCheck(set(1, 'seed'), set(2, 'anchor')).warnings.map((w) => [w.code, w.field])).toEqual([
      ['ANCHOR_ROLE_MISMATCH', 'anchor'],
      ['SEED_ROLE_MISMATCH', 'seed'],
    ]);
    expect(coverageDatasetCheck(set(1, 'anchor'), set(2, 'eval')).warnings.map((w) => w.code)).toEqual(['SEED_ROLE_MISMATCH']);
    expect(coverageDatasetCheck(set(1, 'anchor'), set(2, 'seed'), set(1, 'anchor')).warnings.map((w) => w.code)).toEqual(['EVAL_IS_ANCHOR']);
    expect(coverageDatasetCheck(set(1, 'anchor'), set(2, 'seed'), set(2, 'seed')).warnings.map((w) => w.code)).toEqual(['EVAL_IS_SEED']);
    expect(coverageDatasetCheck(set(1, 'anchor'), set(2, 'seed'), set(3, 'anchor')).warnings.map((w) => w.code)).toEqual(['EVAL_ROLE_MISMATCH']);

    // on the registered datasets: the error names both picks; the warnings are saved with the run
    const runs = store.db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM coverage_runs`);
    const count = runs.get()!.n;
    expect(codeOf(() => requireCoverageDatasets(store, 'anchor', 'anchor'))).toBe('COVERAGE_SAME_DATASET');
    expect(codeOf(() => record({ seed: 'anchor' }))).toBe('COVERAGE_SAME_DATASET');
    expect(runs.get()!.n).toBe(count);
    const warned = record({ seed: 'evalset' });
    expect(getCoverageRun(store, warned.runId).result.warnings?.map((w) => w.code)).toEqual(['SEED_ROLE_MISMATCH']);
    expect(warned.warnings?.[0]?.message).toContain("'evalset' is registered as an eval set");
  });

  it('lists missing features at every δ of a run, with spans from the anchor only', () => {
    const report = record({ seed: 'seed', thresholds: [0, 0.75] });
    // feature 3 is strongest in evalset (1) and seed2 (2), but its spans must come from the anchor (0.25)
    const atZero = coverageMissingAt(store, report.runId, 0);
    expect(atZero.total).toBe(3);
    // each missing feature is in one anchor sample; ties go to the larger sum of g: 4 (3), 5 (0.75), 3 (0.25)
    expect(atZero.features.map((f) => f.feature)).toEqual([4, 5, 3]);
    for (const feature of atZero.features) for (const span of feature.spans) expect(span.dataset).toBe('anchor');
    expect(atZero.features.find((f) => f.feature === 3)!.spans.map((s) => [s.value, s.prefixText])).toEqual([[0.25, 'anchor#1 ']]);
    expect(report.topMissing.find((f) => f.feature === 3)!.spans.map((s) => s.dataset)).toEqual(['anchor']);
    // δ = 0.75: F(P) = {0,1,2,4}, F(seed) = {1,6}: missing {0,2,4}; n_i: 0 → 3, 2 → 1 (sum 1), 4 → 1 (sum 3)
    const higher = coverageMissingAt(store, report.runId, 0.75);
    expect(higher.features.map((f) => [f.feature, f.anchorSamples, f.anchorMean])).toEqual([
      [0, 3, 7 / 3],
      [4, 1, 3],
      [2, 1, 1],
    ]);
    expect(codeOf(() => coverageMissingAt(store, report.runId, 0.5))).toBe('INVALID_ARGUMENT');
  });

  it('gives the anchor-vs-seed activation frequencies per feature, as computed by hand', () => {
    const report = record({ seed: 'seed', thresholds: [0, 0.75] });
    const zero = coverageScatter(store, report.runId, 0);
    expect([zero.anchorSamples, zero.seedSamples, zero.total]).toEqual([4, 2, 7]);
    expect(zero.points).toEqual([
      { feature: 3, anchor: 0.25, seed: 0, missing: true },
      { feature: 4, anchor: 0.25, seed: 0, missing: true },
      { feature: 5, anchor: 0.25, seed: 0, missing: true },
      { feature: 0, anchor: 0.75, seed: 0.5, missing: false },
      { feature: 1, anchor: 0.5, seed: 0.5, missing: false },
      { feature: 2, anchor: 0.25, seed: 0.5, missing: false },
      { feature: 6, anchor: 0, seed: 0.5, missing: false },
    ]);
    // δ = 0.75 (strict): 0.75 itself does not count, so feature 5 drops out
    const higher = coverageScatter(store, report.runId, 0.75);
    expect(higher.points).toEqual([
      { feature: 0, anchor: 0.75, seed: 0, missing: true },
      { feature: 2, anchor: 0.25, seed: 0, missing: true },
      { feature: 4, anchor: 0.25, seed: 0, missing: true },
      { feature: 1, anchor: 0.25, seed: 0.5, missing: false },
      { feature: 6, anchor: 0, seed: 0.5, missing: false },
    ]);
    // the points agree with the run's stored missing list
    expect(higher.points.filter((p) => p.missing).map((p) => p.feature)).toEqual(report.results[1]!.missing);
    // restricted F: only features 0..3 are plotted
    const within = record({ seed: 'seed', features: [0, 1, 2, 3] });
    expect(coverageScatter(store, within.runId, 0).points.map((p) => p.feature)).toEqual([3, 0, 1, 2]);
    expect(coverageScatter(store, report.runId, 0, 2).points).toHaveLength(2);
  });

  it('compares two runs: FAC per δ side by side, features newly covered and lost', () => {
    const a = record({ seed: 'seed', thresholds: [0, 1] });
    const b = record({ seed: 'seed2', thresholds: [0, 2] });
    const comparison = compareCoverageRuns(store, a.runId, b.runId);
    expect(comparison.sameSpace).toBe(true);
    expect(comparison.rows.map((row) => [row.threshold, row.a?.fac ?? null, row.b?.fac ?? null])).toEqual([
      [0, 0.5, 0.5],
      [1, a.results[1]!.fac, null],
      [2, null, b.results[1]!.fac],
    ]);
    // δ = 0: F(P) = {0..5}; seed covers {0,1,2}, seed2 covers {3,4,5}
    expect(comparison.features).toEqual([{ threshold: 0, newlyCovered: [3, 4, 5], lost: [0, 1, 2] }]);
    expect(compareCoverageRuns(store, b.runId, a.runId).features).toEqual([{ threshold: 0, newlyCovered: [0, 1, 2], lost: [3, 4, 5] }]);
    expect(codeOf(() => compareCoverageRuns(store, a.runId, 999_999))).toBe('NOT_FOUND');
  });

  it('facet coverage export / delete (spawned): files equal the engine export; delete reports and removes', async () => {
    const report = record({ seed: 'seed', thresholds: [0, 1] });
    const out = join(home.path, 'run.csv');
    const exported = await runFacet(['coverage', 'export', String(report.runId), '--format', 'csv', '--out', out], home.path);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(exportCoverageRun(store, report.runId, 'csv').content);
    const json = await runFacet(['coverage', 'export', String(report.runId), '--format', 'json'], home.path);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(exportCoverageRun(store, report.runId, 'json').content));
    const deleted = await runFacet(['coverage', 'delete', String(report.runId)], home.path);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(`Deleted coverage run ${report.runId}.`);
    const again = await runFacet(['coverage', 'delete', String(report.runId)], home.path);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`No coverage run ${report.runId}`);
  });
});
