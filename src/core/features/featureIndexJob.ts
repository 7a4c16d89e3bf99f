import { FacetError, isAbortError } from '../../shared/FacetError.ts';
import type { JobDefinition, JobRunner } from '../jobs/JobRunner.ts';
import type { Store } from '../store/Store.ts';
import { indexDataset, type FeatureIndexControl, type FeatureIndexParams, type FeatureIndexSummary } from './indexDataset.ts';

export const FEATURE_INDEX_JOB = 'features.index';

/**
 * `features.index` as a job. Resume needs no job checkpoint beyond progress: the stored sample
 * rows say where to continue, and they are written in the same transaction as the progress.
 */
export function createFeatureIndexJob(store: Store, home: string): JobDefinition<FeatureIndexParams, { phase: string; done: number }, FeatureIndexSummary> {
  return {
    kind: FEATURE_INDEX_JOB,
    title: (params) => `Index features of ${params.dataset} (${params.model}, SAE ${params.sae}${params.layer !== undefined ? `, l_out-${params.layer}` : ''})`,
    run: (params, ctx) =>
      indexDataset(store, home, params, {
        signal: ctx.signal,
        onProgress: (progress) => ctx.progress(progress.done, progress.total, { phase: progress.phase, done: progress.done }),
      }),
  };
}

/** Indexes one dataset: directly in this process, or as a job (resumable, listed in `facet jobs`). */
export type FeatureIndexer = (params: FeatureIndexParams, control: FeatureIndexControl) => Promise<FeatureIndexSummary>;

/** An indexer that runs in this process without a job record. */
export function directFeatureIndexer(store: Store, home: string): FeatureIndexer {
  return (params, control) => indexDataset(store, home, params, control);
}

/**
 * An indexer that submits `features.index` jobs to a runner (which must have the definition
 * registered), follows their progress and cancels them when the signal aborts.
 */
export function jobFeatureIndexer(jobs: JobRunner): FeatureIndexer {
  return async (params, control) => {
    const job = jobs.submit(FEATURE_INDEX_JOB, params);
    const unsubscribe = jobs.subscribe((update) => {
      if (update.id === job.id && update.total !== null && update.state === 'running') control.onProgress?.({ phase: 'index', done: update.done, total: update.total });
    });
    const onAbort = (): void => {
      jobs.cancel(job.id);
    };
    control.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const final = await jobs.wait(job.id);
      if (final.state === 'done') return final.result as FeatureIndexSummary;
      if (final.state === 'cancelled') throw new FacetError('CANCELLED', 'Cancelled.');
      if (final.error !== null) throw FacetError.fromWire(final.error);
      throw new FacetError('INTERNAL', `Feature index job ${job.id} ended as ${final.state}.`);
    } catch (error) {
      if (isAbortError(error) || control.signal?.aborted) throw new FacetError('CANCELLED', 'Cancelled.');
      throw error;
    } finally {
      unsubscribe();
      control.signal?.removeEventListener('abort', onAbort);
    }
  };
}
