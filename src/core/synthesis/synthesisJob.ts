import type { SynthesisReport } from '../../shared/synthesisTypes.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import type { Store } from '../store/Store.ts';
import { synthesizeFeatures, type SynthesisRequest } from './synthesizeFeatures.ts';

export const SYNTHESIS_JOB = 'synthesis.run';

/**
 * FAC Synthesis as a job. Progress counts features; each finished feature is stored with its
 * progress in one transaction, and the run is found again by job id, so `facet jobs resume` (or an
 * engine restart) after a kill continues with the first unfinished feature.
 */
export function createSynthesisJob(store: Store, home: string): JobDefinition<SynthesisRequest, never, SynthesisReport> {
  return {
    kind: SYNTHESIS_JOB,
    title: (request) => `Synthesize ${request.task} samples for the features ${request.seed} misses against ${request.anchor} (${request.model}, SAE ${request.sae})`,
    run: (request, ctx) => synthesizeFeatures(store, home, request, { signal: ctx.signal, jobId: ctx.id, onProgress: (done, total) => ctx.progress(done, total) }),
  };
}
