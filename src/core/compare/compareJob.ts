import type { JobDefinition } from '../jobs/JobRunner.ts';
import { directFeatureIndexer } from '../features/featureIndexJob.ts';
import type { Store } from '../store/Store.ts';
import { compareSpaces, type CompareReport, type CompareRequest } from './compareSpaces.ts';

export const COMPARE_JOB = 'compare.run';

/**
 * A comparison as one job. Indexing runs inside it directly (as in `coverage.measure`); a killed
 * job resumes its indexes from the stored sample rows and redoes only the matching, which is
 * written in one transaction. The same request again finds the stored run and computes nothing.
 */
export function createCompareJob(store: Store, home: string): JobDefinition<CompareRequest, never, CompareReport> {
  return {
    kind: COMPARE_JOB,
    title: (request) => `Compare ${request.a.model}:${request.a.sae} with ${request.b.model}:${request.b.sae} over ${request.datasets.join(', ')}`,
    run: (request, ctx) =>
      compareSpaces(store, home, request, {
        signal: ctx.signal,
        jobId: ctx.id,
        indexer: directFeatureIndexer(store, home),
        onProgress: (progress) => ctx.progress(progress.overallDone, progress.overallTotal),
      }),
  };
}
