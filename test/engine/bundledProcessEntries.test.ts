import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/core/store/Store.ts';
import { databasePath } from '../../src/core/workspace/resolveFacetHome.ts';
import { ModelService } from '../../src/core/models/ModelService.ts';
import { ModelProcessHost } from '../../src/engine/modelProcessHost.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

const root = join(import.meta.dirname, '..', '..');
const outMain = join(root, 'out', 'main');

/**
 * Stands in for Electron's utilityProcess around the bundled engine (out/main/engine.js) under
 * plain Node 22: `process.parentPort`, and one MessagePort whose messages travel over this
 * process's IPC channel to the test.
 */
const parentPortShim = `
import { EventEmitter } from 'node:events';
const port = Object.assign(new EventEmitter(), { postMessage: (message) => process.send({ port: message }), start() {} });
const parentPort = Object.assign(new EventEmitter(), { postMessage: (message) => process.send({ parent: message }) });
process.parentPort = parentPort;
process.on('message', (message) => {
  if (message === 'connect') parentPort.emit('message', { data: { type: 'connect' }, ports: [port] });
  else port.emit('message', { data: message });
});
`;

/** Direct children of `pid` with their command lines. */
function childrenOf(pid: number): string[] {
  try {
    return execFileSync('ps', ['-o', 'args=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

let home: { path: string; remove(): void };
let modelPath: string;
let scratch: string;

beforeAll(async () => {
  // the desktop build: main (index, engine, jobProcess, modelProcess); the UI goes to a private folder
  scratch = mkdtempSync(join(tmpdir(), 'facet-bundle-'));
  execFileSync(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: root, env: { ...process.env, FACET_RENDERER_OUT: join(scratch, 'ui') }, stdio: 'pipe' });
  home = tempHome('facet-bundled-');
  ({ path: modelPath } = await forgeTestModel({ family: 'llama3', layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 11, contextLength: 512 }));
  const added = await runFacet(['models', 'add', modelPath, '--name', 'tiny-chat'], home.path);
  expect(added.code, added.stderr).toBe(0);
}, 120_000);
afterAll(() => {
  home?.remove();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the desktop bundle carries the job and model process entries, and they run under plain Node 22', () => {
  it('electron-vite builds out/main/jobProcess.js and out/main/modelProcess.js beside engine.js', () => {
    for (const file of ['engine.js', 'jobProcess.js', 'modelProcess.js']) expect(existsSync(join(outMain, file)), file).toBe(true);
  });

  it('the bundled engine runs a model-loading job in the bundled job process', async () => {
    const shim = join(scratch, 'parentPortShim.mjs');
    writeFileSync(shim, parentPortShim);
    const dataset = join(home.path, 'texts.jsonl');
    writeFileSync(dataset, Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `Note ${i}: ${'abcdefghij'.slice(i % 5)} ${i * 17}` })).join('\n'));
    const engine: ChildProcess = fork(join(outMain, 'engine.js'), [], { execArgv: ['--import', shim], env: { ...process.env, FACET_HOME: home.path, FACET_PROCESS_ENTRY_DIR: '' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
    let nextId = 1;
    const ready = new Promise<void>((resolve) => {
      engine.on('message', (message: { parent?: { type?: string }; port?: { type: string; id?: number; ok?: boolean; result?: unknown; error?: { code: string; message: string } } }) => {
        if (message.parent?.type === 'ready') resolve();
        const response = message.port;
        if (response?.type !== 'response' || response.id === undefined) return;
        const waiter = pending.get(response.id);
        pending.delete(response.id);
        if (response.ok === true) waiter?.resolve(response.result);
        else waiter?.reject(Object.assign(new Error(response.error!.message), { code: response.error!.code }));
      });
    });
    const call = <T,>(method: string, params: unknown): Promise<T> =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        engine.send({ type: 'request', id, method, params });
      });
    const finished = async (id: string): Promise<{ state: string; error: unknown }> => {
      for (;;) {
        const job = await call<{ state: string; error: unknown }>('jobs.get', { id });
        if (['done', 'failed', 'cancelled'].includes(job.state)) return job;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    try {
      await ready;
      engine.send('connect');
      const imported = await call<{ id: string }>('datasets.import', { path: dataset, name: 'notes' });
      expect((await finished(imported.id)).state).toBe('done');
      const training = await call<{ id: string }>('saes.train', { model: 'tiny-chat', layer: 1, dataset: 'notes', name: 'bundled-sae', features: 64, k: 4, epochs: 1, batchTokens: 32, threads: 1, device: 'cpu', cpuModel: true });
      let seen: string[] = [];
      for (let i = 0; i < 200 && !seen.some((line) => line.includes('jobProcess.js')); i++) {
        seen = childrenOf(engine.pid!);
        if ((await call<{ state: string }>('jobs.get', { id: training.id })).state !== 'running' && i > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(seen.join('\n')).toContain(join(outMain, 'jobProcess.js'));
      const job = await finished(training.id);
      expect(job.state, JSON.stringify(job.error)).toBe('done');
      expect((await call<{ name: string; dSae: number }[]>('saes.list', {})).find((sae) => sae.name === 'bundled-sae')).toMatchObject({ dSae: 64 });
    } finally {
      engine.kill('SIGTERM');
      await new Promise((resolve) => engine.once('exit', resolve));
    }
  }, 180_000);

  it('the bundled model process answers chat calls on a forged model, and a real abort there costs one call', async () => {
    const store = Store.open(databasePath(home.path));
    expect(new ModelService(store).list().map((model) => model.name)).toContain('tiny-chat');
    const flag = join(scratch, 'abort-once');
    process.env['FACET_MODEL_PROCESS_ABORT_AT'] = `chat.complete@${flag}`;
    const host = new ModelProcessHost(home.path, store, { entry: join(outMain, 'modelProcess.js') });
    try {
      const args = { model: 'tiny-chat', turns: [{ role: 'user' as const, content: 'Hello there' }], n: 2, sampling: { maxTokens: 6, temperature: 0, seed: 1 } };
      const first = await host.run('chat.complete', args);
      expect(first.choices).toHaveLength(2);
      expect(first.promptTokens).toBeGreaterThan(0);
      const [firstPid] = host.pids().values();
      expect(childrenOf(process.pid).join('\n')).toContain(join(outMain, 'modelProcess.js'));
      writeFileSync(flag, '');
      await expect(host.run('chat.complete', args)).rejects.toMatchObject({ code: 'MODEL_PROCESS_CRASHED', details: { model: 'tiny-chat', call: 'chat.complete', signal: 'SIGABRT' } });
      const again = await host.run('chat.complete', args);
      expect(again.choices.map((choice) => choice.text)).toEqual(first.choices.map((choice) => choice.text));
      expect([...host.pids().values()][0]).not.toBe(firstPid);
    } finally {
      delete process.env['FACET_MODEL_PROCESS_ABORT_AT'];
      await host.close();
      store.close();
    }
  }, 120_000);
});
