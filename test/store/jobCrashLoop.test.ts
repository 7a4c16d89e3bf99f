import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobRunner } from '../../src/core/jobs/JobRunner.ts';
import { Store } from '../../src/core/store/Store.ts';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

let home: { path: string; remove(): void };
let script: string;

/**
 * A process that opens the workspace like an engine does at start (resumeInterrupted), or submits
 * the job first; the job aborts its process (SIGABRT, as a llama.cpp GGML_ASSERT does) while
 * running, unless the marker file says the cause is fixed.
 */
const engineLike = `
import { existsSync } from 'node:fs';
import { JobRunner } from ${JSON.stringify(resolve('src/core/jobs/JobRunner.ts'))};
import { Store } from ${JSON.stringify(resolve('src/core/store/Store.ts'))};
const [home, mode] = process.argv.slice(2);
const store = Store.open(home + '/facet.db');
const runner = new JobRunner(store);
runner.register({
  kind: 'test.native-abort',
  title: () => 'a job whose native call aborts',
  async run(_params, ctx) {
    ctx.progress(1, 3, 1);
    await new Promise((r) => setTimeout(r, 20));
    if (!existsSync(home + '/fixed')) process.abort();
    ctx.progress(3, 3, 3);
    return { ok: true };
  },
});
if (mode === 'submit') {
  runner.submit('test.native-abort', {});
} else {
  const { resumed, failed } = runner.resumeInterrupted();
  console.log(JSON.stringify({ resumed: resumed.map((j) => j.id), failed: failed.map((j) => ({ id: j.id, state: j.state, error: j.error })) }));
}
const wait = setInterval(() => {
  if (runner.list().every((j) => j.state !== 'queued' && j.state !== 'running')) { clearInterval(wait); store.close(); }
}, 20);
`;

function engineStart(mode: 'submit' | 'start'): { signal: NodeJS.Signals | null; status: number | null; stdout: string } {
  const result = spawnSync(process.execPath, [script, home.path, mode], { encoding: 'utf8', timeout: 30_000 });
  return { signal: result.signal, status: result.status, stdout: result.stdout };
}

beforeAll(() => {
  home = tempHome('facet-crash-loop-');
  script = join(home.path, 'engineLike.mts');
  writeFileSync(script, engineLike);
});
afterAll(() => home.remove());

describe('a job whose process keeps dying is not resumed into a crash loop', () => {
  it('dies, is resumed once, dies again, then is failed with the reason at the next start', async () => {
    expect(engineStart('submit').signal).toBe('SIGABRT');
    const second = engineStart('start');
    expect(second.signal).toBe('SIGABRT'); // resumed after the first death, and died again
    const third = engineStart('start');
    expect(third.signal).toBeNull();
    expect(third.status).toBe(0);
    const report = JSON.parse(third.stdout) as { resumed: string[]; failed: { id: string; state: string; error: { code: string; message: string; details: { crashes: number } } }[] };
    expect(report.resumed).toEqual([]);
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0]).toMatchObject({ state: 'failed', error: { code: 'JOB_CRASHED', details: { crashes: 2 } } });
    expect(report.failed[0]!.error.message).toContain(`facet jobs resume ${report.failed[0]!.id}`);
    // a fourth start leaves it alone
    expect(JSON.parse(engineStart('start').stdout)).toEqual({ resumed: [], failed: [] });

    const listed = await runFacet(['jobs', 'list'], home.path);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('failed (its process died 2 times running it; retry: facet jobs resume');

    // retry after the cause is fixed: explicit resume is allowed and the job completes
    writeFileSync(join(home.path, 'fixed'), '');
    const store = Store.open(join(home.path, 'facet.db'));
    try {
      const runner = new JobRunner(store);
      runner.register({ kind: 'test.native-abort', title: () => 'x', run: async () => ({ ok: true }) });
      const id = report.failed[0]!.id;
      expect(runner.resume(id).state).toMatch(/queued|running/);
      expect(await runner.wait(id)).toMatchObject({ state: 'done', error: null });
      expect(() => runner.resume(id)).toThrow(expect.objectContaining({ code: 'JOB_NOT_RESUMABLE' }));
    } finally {
      store.close();
    }
  }, 120_000);
});
