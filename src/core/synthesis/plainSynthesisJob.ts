import { plural } from '../../shared/formatNumber.ts';
import type { PlainSynthesisReport } from '../../shared/synthesisTypes.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import type { Store } from '../store/Store.ts';
import { synthesizePlain, type PlainSynthesisRequest } from './synthesizePlain.ts';

export const PLAIN_SYNTHESIS_JOB = 'synthesis.plain';

/**
 * The plain baseline as a job. Progress counts kept samples; each batch is stored with its count
 * in one transaction, so a resumed job (after a kill) continues filling the same dataset.
 */
export function createPlainSynthesisJob(store: Store, home: string): JobDefinition<PlainSynthesisRequest, never, PlainSynthesisReport> {
  return {
    kind: PLAIN_SYNTHESIS_JOB,
    title: (request) => `Plain synthesis baseline for run ${request.like} (${request.count === undefined ? 'as many samples as it kept' : plural(request.count, 'sample')}, same budget, no feature targets)`,
    run: (request, ctx) => synthesizePlain(store, home, request, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) }),
  };
}
