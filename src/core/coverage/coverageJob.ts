import type { JobDefinition } from '../jobs/JobRunner.ts';
import type { Store } from '../store/Store.ts';
import { directFeatureIndexer } from '../features/featureIndexJob.ts';
import { measureCoverage, type CoverageReport, type CoverageRequest } from './measureCoverage.ts';

export const COVERAGE_JOB = 'coverage.measure';

/**
 * A whole coverage measurement as one job (for the UI). Indexing runs inside it directly rather
 * than as nested jobs, so coverage jobs never wait on queue slots they themselves hold. Progress:
 * samples indexed + 1 for the computation. A killed run resumes its indexes from the stored
 * samples when submitted (or resumed) again.
 */
export function createCoverageJob(store: Store, home: string): JobDefinition<CoverageRequest, never, CoverageReport> {
  return {
    kind: COVERAGE_JOB,
    title: (request) => `Coverage of ${request.seed} against ${request.anchor} (${request.model}, SAE ${request.sae})`,
    run: (request, ctx) =>
      measureCoverage(store, home, request, {
        signal: ctx.signal,
        indexer: directFeatureIndexer(store, home),
        onProgress: (progress) => ctx.progress(progress.overallDone, progress.overallTotal),
      }),
  };
}
