import type { JobDefinition } from '../../jobs/JobRunner.ts';
import { resolveModel } from '../../models/ModelService.ts';
import type { Store } from '../../store/Store.ts';
import { SaeRegistry } from '../SaeRegistry.ts';
import { runSaeCheck, type SaeCheckParams, type SaeCheckResult } from './runSaeCheck.ts';

export const SAE_CHECK_JOB = 'sae.check';

/** Checks what can be checked before the job queues: the SAE and the model exist. */
export async function prepareSaeCheck(store: Store, home: string, params: SaeCheckParams): Promise<SaeCheckParams> {
  new SaeRegistry(store, home).get(params.sae);
  await resolveModel(store, params.model);
  return params;
}

/**
 * `facet sae check` as a job (progress in tokens checked), so every shell of the workspace sees
 * it. Its result carries the warnings; a fit that is an error is still a finished check.
 */
export function createSaeCheckJob(store: Store, home: string): JobDefinition<SaeCheckParams, never, SaeCheckResult> {
  return {
    kind: SAE_CHECK_JOB,
    title: (params) => `Check SAE ${params.sae} on ${params.model}${params.layer !== undefined ? ` l_out-${params.layer}` : ''} over ${params.dataset}`,
    run: (params, ctx) => runSaeCheck(store, home, params, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) }),
  };
}
