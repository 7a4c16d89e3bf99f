import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SaeRegistry } from '../../src/core/sae/SaeRegistry.ts';
import type { SaeTrainingParams } from '../../src/core/sae/training/runSaeTraining.ts';
import { FacetEngine } from '../../src/engine/FacetEngine.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { tempHome } from '../support/tempHome.ts';

let home: { path: string; remove(): void };
let engine: FacetEngine;
let params: SaeTrainingParams;

/** The job processes this test process started (node …/jobProcessEntry.ts <home> <id>). */
function jobProcesses(): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there is no child
  }
  return out.split('\n').filter((line) => line.includes('jobProcessEntry.ts')).map((line) => Number(line.trim().split(/\s+/)[0]));
}

async function until<T>(probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  home = tempHome('facet-job-process-');
  const { path } = await forgeTestModel({ family: 'mistral', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 5, contextLength: 512 });
  const dataset = join(home.path, 'texts.jsonl');
  writeFileSync(dataset, Array.from({ length: 60 }, (_, i) => JSON.stringify({ text: `Note ${i}: ${'abcdefghij'.slice(i % 5)} ${i * 17}` })).join('\n'));
  params = { model: path, layer: 2, dataset, name: 'isolated-sae', features: 96, k: 5, epochs: 2, batchTokens: 48, threads: 1, device: 'cpu', cpuModel: true };
  // `facet serve`'s engine: jobs that load models run in processes of their own
  engine = new FacetEngine({ home: home.path, shell: 'serve', resumeInterrupted: false });
});
afterAll(async () => {
  await engine.close();
  home.remove();
});

describe('a job that loads a model runs in a process the engine can lose', () => {
  it('runs there to the same result, with progress seen by the engine', async () => {
    const seen: number[] = [];
    engine.subscribe((event) => {
      if (event.event === 'job.updated') seen.push(event.payload.done);
    });
    const job = engine.jobs.submit('sae.train', params);
    const child = await until(() => jobProcesses()[0]);
    expect(child).toBeGreaterThan(0);
    const finished = await engine.jobs.wait(job.id);
    expect(finished.state, JSON.stringify(finished.error)).toBe('done');
    expect(Math.max(...seen)).toBe(finished.done);
    expect(new SaeRegistry(engine.store, home.path).get('isolated-sae')).toMatchObject({ dSae: 96, k: 5, layer: 2 });
    await until(() => (jobProcesses().length === 0 ? true : undefined));
  });

  it('a native abort there fails that job with MODEL_PROCESS_CRASHED naming the model; the engine keeps serving and the job can be retried', async () => {
    const job = engine.jobs.submit('sae.train', { ...params, name: 'crashing-sae', epochs: 40, checkpointEverySeconds: 0.2 });
    await until(() => (engine.jobs.get(job.id).done > 0 ? true : undefined));
    const child = await until(() => jobProcesses()[0]);
    process.kill(child, 'SIGABRT'); // what a GGML_ASSERT does to its process
    const failed = await engine.jobs.wait(job.id);
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'MODEL_PROCESS_CRASHED', details: { model: params.model, signal: 'SIGABRT', kind: 'sae.train' } } });
    expect(failed.error!.message).toContain(params.model);
    expect(failed.error!.message).toContain(`facet jobs resume ${job.id}`);
    // the engine (this process) is alive and answers
    expect(await engine.call('jobs.get', { id: job.id })).toMatchObject({ state: 'failed' });
    expect(await engine.call('datasets.list', {})).toEqual([]);
    // not an interrupted job: the next start does not resume it into another crash
    expect(engine.jobs.interrupted()).toEqual([]);
    // a retry runs it again (from its checkpoint) in a new process
    const retried = engine.jobs.resume(job.id);
    expect(retried.state).toMatch(/queued|running/);
    await until(() => (engine.jobs.get(job.id).state === 'running' && jobProcesses().length > 0 ? true : undefined));
    const cancelled = engine.jobs.cancel(job.id);
    expect(['running', 'cancelled']).toContain(cancelled.state);
    expect((await engine.jobs.wait(job.id)).state).toBe('cancelled');
  }, 180_000);
});
