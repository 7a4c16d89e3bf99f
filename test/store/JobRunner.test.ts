import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FacetError } from '../../src/shared/FacetError.ts';
import { JobRunner } from '../../src/core/jobs/JobRunner.ts';
import { Store } from '../../src/core/store/Store.ts';
import { tempHome } from '../support/tempHome.ts';

let home: { path: string; remove(): void };
let store: Store;
beforeEach(() => {
  home = tempHome();
  store = Store.open(join(home.path, 'facet.db'));
});
afterEach(() => {
  store.close();
  home.remove();
});

interface CountParams {
  to: number;
}

function counter(log: number[]) {
  return {
    kind: 'test.count',
    title: (params: CountParams) => `count to ${params.to}`,
    async run(params: CountParams, ctx: { signal: AbortSignal; checkpoint: number | undefined; progress(done: number, total?: number | null, checkpoint?: number): void }) {
      for (let i = (ctx.checkpoint ?? 0) + 1; i <= params.to; i++) {
        if (ctx.signal.aborted) throw new FacetError('CANCELLED', 'Cancelled.');
        log.push(i);
        ctx.progress(i, params.to, i);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      return { counted: params.to };
    },
  };
}

describe('JobRunner', () => {
  it('runs a job to done with progress, result and events', async () => {
    const runner = new JobRunner(store);
    runner.register(counter([]));
    const states: string[] = [];
    runner.subscribe((job) => states.push(job.state));
    const job = runner.submit('test.count', { to: 5 });
    const final = await runner.wait(job.id);
    expect(final).toMatchObject({ state: 'done', done: 5, total: 5, result: { counted: 5 }, error: null });
    expect(states[0]).toBe('queued');
    expect(states.at(-1)).toBe('done');
  });

  it('cancels running and queued jobs', async () => {
    const runner = new JobRunner(store, { concurrency: 1 });
    runner.register(counter([]));
    const first = runner.submit('test.count', { to: 10_000 });
    const second = runner.submit('test.count', { to: 3 });
    expect(runner.get(second.id).state).toBe('queued');
    runner.cancel(second.id);
    runner.cancel(first.id);
    expect((await runner.wait(first.id)).state).toBe('cancelled');
    expect(runner.get(second.id).state).toBe('cancelled');
  });

  it('records failures as coded errors', async () => {
    const runner = new JobRunner(store);
    runner.register({ kind: 'test.fail', title: () => 'fails', run: async () => { throw new FacetError('NOT_FOUND', 'gone'); } });
    const final = await runner.wait(runner.submit('test.fail', {}).id);
    expect(final).toMatchObject({ state: 'failed', error: { code: 'NOT_FOUND', message: 'gone' } });
  });

  it('resumes a job left running by a dead process from its checkpoint', async () => {
    const runner = new JobRunner(store);
    const log: number[] = [];
    runner.register(counter(log));
    // A job row as a killed process leaves it: running, owner gone, checkpoint at 3.
    store.db.prepare(`INSERT INTO jobs (id, kind, title, params, state, done, total, checkpoint, owner_pid, created_at, updated_at) VALUES ('j1', 'test.count', 't', '{"to":6}', 'running', 3, 6, '3', 999999999, 'a', 'a')`).run();
    expect(runner.interrupted().map((job) => job.id)).toEqual(['j1']);
    expect(runner.get('j1')).toMatchObject({ state: 'running', interrupted: true });
    runner.resume('j1');
    expect(await runner.wait('j1')).toMatchObject({ state: 'done', done: 6, interrupted: false });
    expect(log).toEqual([4, 5, 6]);
    expect(() => runner.resume('j1')).toThrow(/only jobs interrupted/);
    expect(() => runner.get('nope')).toThrow(FacetError);
  });
});

describe('JobRunner across processes', () => {
  it('leaves queued jobs of a live process alone and lets another process request a cancel', async () => {
    const owner = new JobRunner(store, { concurrency: 1 });
    owner.register(counter([]));
    const running = owner.submit('test.count', { to: 100_000 });
    const waiting = owner.submit('test.count', { to: 3 });
    // A second runner on the same database stands for another process (same pid here, so
    // simulate the other owner by recording a live foreign pid: this test process's parent).
    store.db.prepare('UPDATE jobs SET owner_pid = ? WHERE id IN (?, ?)').run(process.ppid, running.id, waiting.id);
    const other = new JobRunner(store);
    other.register(counter([]));
    expect(other.interrupted()).toEqual([]);
    expect(() => other.resume(waiting.id)).toThrow(/only jobs interrupted/);
    expect(other.ownerElsewhere(running.id)).toBe(process.ppid);
    // The request is stored; the owner's watcher sees it and stops the job.
    store.db.prepare('UPDATE jobs SET owner_pid = ? WHERE id = ?').run(process.pid, running.id);
    other.cancel(running.id);
    expect((await owner.wait(running.id)).state).toBe('cancelled');
  });
});
