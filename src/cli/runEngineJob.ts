import { FacetError } from '../shared/FacetError.ts';
import type { JobSnapshot } from '../shared/jobTypes.ts';
import type { FacetEngine } from '../engine/FacetEngine.ts';
import type { CliContext } from './CliContext.ts';

/**
 * Follows a submitted job to its end: progress on stderr, Ctrl-C cancels it. Returns the final
 * snapshot of a finished job; throws the job's error if it failed.
 */
export async function followJob(engine: FacetEngine, ctx: CliContext, job: JobSnapshot, label: string): Promise<JobSnapshot> {
  ctx.progress.start(label, job.total ?? undefined);
  const unsubscribe = engine.jobs.subscribe((update) => {
    if (update.id === job.id) ctx.progress.update(update.done, update.total ?? undefined);
  });
  const onAbort = (): void => {
    engine.jobs.cancel(job.id);
  };
  ctx.signal.addEventListener('abort', onAbort);
  try {
    const final = await engine.jobs.wait(job.id);
    if (final.state === 'failed' && final.error !== null) throw FacetError.fromWire(final.error);
    if (final.state === 'cancelled') throw new FacetError('CANCELLED', 'Cancelled.');
    ctx.progress.update(final.done, final.total ?? undefined);
    ctx.progress.finish();
    return final;
  } finally {
    unsubscribe();
    ctx.signal.removeEventListener('abort', onAbort);
  }
}
