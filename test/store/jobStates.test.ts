import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FacetError } from '../../src/shared/FacetError.ts';
import { jobResultLink, jobStatus, resumeKind, type JobSnapshot } from '../../src/shared/jobTypes.ts';
import { JobRunner } from '../../src/core/jobs/JobRunner.ts';
import { JobTableWatcher } from '../../src/core/jobs/JobTableWatcher.ts';
import { Store } from '../../src/core/store/Store.ts';
import { tempHome } from '../support/tempHome.ts';

let home: { path: string; remove(): void };
const stores: Store[] = [];
function open(): Store {
  const store = Store.open(join(home.path, 'facet.db'));
  stores.push(store);
  return store;
}
beforeEach(() => {
  home = tempHome();
});
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  home.remove();
});

/** Counts to `to`, one step per `stepMs`; fails at `failAt` when set. */
function counter(options: { stepMs?: number; failAt?: number } = {}) {
  return {
    kind: 'test.count',
    title: (params: { to: number }) => `count to ${params.to}`,
    async run(params: { to: number }, ctx: { signal: AbortSignal; checkpoint: number | undefined; progress(done: number, total?: number | null, checkpoint?: number): void }) {
      for (let i = (ctx.checkpoint ?? 0) + 1; i <= params.to; i++) {
        if (ctx.signal.aborted) throw new FacetError('CANCELLED', 'Cancelled.');
        if (i === options.failAt) throw new FacetError('INVALID_ARGUMENT', `step ${i} is bad`);
        ctx.progress(i, params.to, i);
        await new Promise((resolve) => setTimeout(resolve, options.stepMs ?? 2));
      }
      return { counted: params.to };
    },
  };
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('job states', () => {
  it('shows a cancel that has not stopped the job yet as cancelling, then cancelled', async () => {
    const runner = new JobRunner(open());
    // a job that checks its signal only every 300 ms, as a training step would
    runner.register({
      kind: 'test.slow',
      title: () => 'slow',
      async run(_params: object, ctx: { signal: AbortSignal; progress(done: number): void }) {
        for (let i = 0; ; i++) {
          ctx.progress(i);
          await settle(300);
          if (ctx.signal.aborted) throw new FacetError('CANCELLED', 'Cancelled.');
        }
      },
    });
    const seen: string[] = [];
    runner.subscribe((job) => seen.push(jobStatus(job)));
    const job = runner.submit('test.slow', {});
    await settle(50);
    const cancelling = runner.cancel(job.id);
    expect(cancelling).toMatchObject({ state: 'running', cancelRequested: true });
    expect(jobStatus(cancelling)).toBe('cancelling');
    const final = await runner.wait(job.id);
    expect(final).toMatchObject({ state: 'cancelled', cancelRequested: false });
    expect(seen).toContain('cancelling');
    expect(seen.at(-1)).toBe('cancelled');
  });

  it('restarts cancelled and failed jobs, refuses done and running ones with JOB_NOT_RESUMABLE', async () => {
    const runner = new JobRunner(open());
    runner.register(counter({ stepMs: 5 }));
    const job = runner.submit('test.count', { to: 200 });
    await settle(30);
    runner.cancel(job.id);
    const cancelled = await runner.wait(job.id);
    expect(cancelled.state).toBe('cancelled');
    expect(resumeKind(cancelled)).toBe('restart');
    const again = runner.resume(job.id);
    expect(again).toMatchObject({ id: job.id, state: 'running', error: null });
    expect(cancelled.done).toBeGreaterThan(1);
    expect(again.done).toBeLessThanOrEqual(1); // from the start: the first step only
    expect(() => runner.resume(job.id)).toThrow(expect.objectContaining({ code: 'JOB_NOT_RESUMABLE' }));
    const done = await runner.wait(job.id);
    expect(done).toMatchObject({ state: 'done', done: 200, result: { counted: 200 } });
    expect(resumeKind(done)).toBeNull();
    expect(() => runner.resume(job.id)).toThrow(expect.objectContaining({ code: 'JOB_NOT_RESUMABLE' }));
  });

  it('retries a failed job once its cause is gone', async () => {
    const store = open();
    const failing = new JobRunner(store);
    failing.register(counter({ failAt: 3 }));
    const job = failing.submit('test.count', { to: 5 });
    const failed = await failing.wait(job.id);
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'INVALID_ARGUMENT' } });
    expect(resumeKind(failed)).toBe('restart');
    // the input is fixed (here: a definition without the bad step) and the job retried
    const fixed = new JobRunner(store);
    fixed.register(counter());
    fixed.resume(job.id);
    expect(await fixed.wait(job.id)).toMatchObject({ state: 'done', error: null, done: 5 });
  });

  it('dismisses finished jobs (persisted), refuses active ones with JOB_NOT_FINISHED', async () => {
    const store = open();
    const runner = new JobRunner(store);
    runner.register(counter({ stepMs: 20 }));
    const quick = runner.submit('test.count', { to: 2 });
    await runner.wait(quick.id);
    const slow = runner.submit('test.count', { to: 1000 });
    expect(() => runner.dismiss(slow.id)).toThrow(expect.objectContaining({ code: 'JOB_NOT_FINISHED' }));
    const dismissed = runner.dismiss(quick.id);
    expect(dismissed.dismissedAt).not.toBeNull();
    expect(new JobRunner(open()).get(quick.id).dismissedAt).toBe(dismissed.dismissedAt);
    runner.cancel(slow.id);
    await runner.wait(slow.id);
    expect(runner.dismissFinished().map((job) => job.id)).toEqual([slow.id]);
    expect(runner.dismissFinished()).toEqual([]);
  });

  it('a watcher on another connection sees jobs this one creates, progresses, cancels and dismisses', async () => {
    const cli = new JobRunner(open());
    cli.register(counter({ stepMs: 10 }));
    const serveStore = open();
    const serveRunner = new JobRunner(serveStore);
    const seen: JobSnapshot[] = [];
    const watcher = new JobTableWatcher(serveStore, (id) => serveRunner.get(id), (job) => seen.push(job), 1_000_000);
    expect(watcher.poll()).toEqual([]); // nothing changed: no reads
    const job = cli.submit('test.count', { to: 60 });
    await settle(150);
    const progressing = watcher.poll();
    expect(progressing).toHaveLength(1);
    expect(progressing[0]).toMatchObject({ id: job.id, kind: 'test.count', state: 'running', interrupted: false });
    expect(progressing[0]!.done).toBeGreaterThan(0);
    await settle(150);
    const later = watcher.poll()[0]!;
    expect(later.done).toBeGreaterThan(progressing[0]!.done);
    expect(later.rate).toBeGreaterThan(0);
    cli.cancel(job.id);
    await cli.wait(job.id);
    expect(watcher.poll().at(-1)).toMatchObject({ id: job.id, state: 'cancelled' });
    cli.dismiss(job.id);
    expect(watcher.poll()[0]?.dismissedAt).not.toBeNull();
    expect(watcher.poll()).toEqual([]);
    watcher.close();
  });
});

describe('jobResultLink', () => {
  const base: JobSnapshot = { id: 'x', kind: 'dataset.import', title: 't', state: 'done', done: 1, total: 1, rate: null, etaSeconds: null, result: { id: 7, name: 'hh' }, error: null, interrupted: false, cancelRequested: false, dismissedAt: null, createdAt: '', updatedAt: '' };
  it('points each finished job at the page and parameters of what it made', () => {
    expect(jobResultLink(base)).toEqual({ page: 'Datasets', params: { dataset: '7' }, label: 'dataset hh' });
    expect(jobResultLink({ ...base, kind: 'coverage.measure', result: { runId: 3 } })).toMatchObject({ page: 'Coverage', params: { run: '3' } });
    expect(jobResultLink({ ...base, kind: 'sae.train', result: { sae: { name: 's1' } } })).toMatchObject({ page: 'Models', params: { sae: 's1' } });
    expect(jobResultLink({ ...base, kind: 'synthesis.run', result: { runId: 2 } })).toMatchObject({ page: 'Synthesis', params: { run: '2' } });
    expect(jobResultLink({ ...base, kind: 'synthesis.plain', result: { datasetId: 7, dataset: 'seed-plain' } })).toMatchObject({ page: 'Datasets', params: { dataset: '7' }, label: 'dataset seed-plain' });
    expect(jobResultLink({ ...base, state: 'failed' })).toBeNull();
  });
});
