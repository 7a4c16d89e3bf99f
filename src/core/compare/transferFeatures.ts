import { FacetError } from '../../shared/FacetError.ts';
import { getCoverageRun } from '../coverage/measureCoverage.ts';
import type { Store } from '../store/Store.ts';
import { CompareRepository } from './CompareRepository.ts';
import type { CompareSummary, TransferredFeature, TransferResult } from '../../shared/compareTypes.ts';

export interface TransferRequest {
  /** A finished comparison run (space A → space B). */
  runId: number;
  /** A coverage run in space A whose missing features (at its first δ) are mapped. */
  coverageRunId: number;
  /** Partners below this correlation are not transferred. Defaults to 0.5. */
  minCorrelation?: number;
}

/**
 * The paper's cross-model experiment as one action: the missing features of a coverage run in
 * space A become their best partners in space B (correlation ≥ the bound). Several A features
 * may map to one B feature; `features` lists each once.
 */
export function transferFeatures(store: Store, request: TransferRequest): TransferResult {
  const minCorrelation = request.minCorrelation ?? 0.5;
  if (!Number.isFinite(minCorrelation) || minCorrelation < -1 || minCorrelation > 1) throw new FacetError('INVALID_ARGUMENT', `--min-correlation must lie in [-1, 1] (got ${minCorrelation}).`);
  const runs = new CompareRepository(store.db);
  const run = runs.get<CompareSummary>(request.runId);
  if (run === undefined || run.state !== 'done') throw new FacetError('NOT_FOUND', `No finished comparison run ${request.runId}. Run 'facet compare --a … --b … --dataset …' first; its JSON carries runId.`, { runId: request.runId });
  const coverage = getCoverageRun(store, request.coverageRunId);
  if (coverage.spaceId !== run.spaceAId) {
    throw new FacetError(
      'COMPARE_SPACE_MISMATCH',
      `Coverage run ${coverage.id} was measured in feature space ${coverage.spaceId ?? '(removed)'}, but comparison run ${run.id} maps from space ${run.spaceAId}. Compare with --a set to the coverage run's model and SAE, or pick a coverage run of space ${run.spaceAId}.`,
      { coverageSpace: coverage.spaceId, compareSpaceA: run.spaceAId },
    );
  }
  const first = coverage.result.results[0];
  if (first === undefined) throw new FacetError('NOT_FOUND', `Coverage run ${coverage.id} holds no results.`, { coverageRunId: coverage.id });
  const best = new Map(runs.bestPartners(run.id).map((p) => [p.a, p]));
  const mapping: TransferredFeature[] = [];
  const unmatched: number[] = [];
  for (const feature of first.missing) {
    const partner = best.get(feature);
    if (partner === undefined || partner.correlation < minCorrelation) unmatched.push(feature);
    else mapping.push({ a: feature, b: partner.b, correlation: partner.correlation, mutual: partner.mutual });
  }
  const features = [...new Set(mapping.map((m) => m.b))].sort((x, y) => x - y);
  return { runId: run.id, coverageRunId: coverage.id, spaceA: run.spaceAId, spaceB: run.spaceBId, threshold: first.threshold, minCorrelation, missing: first.missing.length, unmatched, mapping, features };
}
