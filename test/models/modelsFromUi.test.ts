import { createReadStream, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FacetEngine } from '../../src/engine/FacetEngine.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { tempHome } from '../support/tempHome.ts';

/**
 * The engine methods behind the Models and Datasets pages (issue 14): path completion, memory
 * estimate, layer checked before a job starts, download as a job over real local HTTP, SAE
 * training metrics, dataset role and search.
 */
describe('models and datasets from the UI (engine methods)', () => {
  const home = tempHome('facet-models-ui-');
  let engine: FacetEngine;
  let modelPath: string;
  let server: Server;
  let base: string;
  /** Requests the server saw, by path. */
  const cuts: string[] = [];

  beforeAll(async () => {
    engine = new FacetEngine({ home: home.path, shell: 'cli', isolateJobs: false });
    modelPath = (await forgeTestModel({ family: 'llama3', layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 11, contextLength: 256 })).path;
    const size = statSync(modelPath).size;
    // A real HTTP server: /tiny.gguf serves the model; /cut.gguf promises all of it, sends half and drops the connection.
    server = createServer((request, response) => {
      if (request.url === '/tiny.gguf') {
        response.writeHead(200, { 'content-length': String(size), 'content-type': 'application/octet-stream' });
        if (request.method === 'HEAD') response.end();
        else createReadStream(modelPath).pipe(response);
        return;
      }
      if (request.url === '/cut.gguf') {
        response.writeHead(200, { 'content-length': String(size), 'content-type': 'application/octet-stream' });
        if (request.method === 'HEAD') return void response.end();
        cuts.push(request.url);
        createReadStream(modelPath, { start: 0, end: Math.floor(size / 2) }).on('end', () => response.socket?.destroy()).pipe(response, { end: false });
        return;
      }
      if (request.url === '/slow.gguf') {
        // a trickle: 16 KiB every 50 ms, so a cancel lands mid-download
        response.writeHead(200, { 'content-length': String(size), 'content-type': 'application/octet-stream' });
        if (request.method === 'HEAD') return void response.end();
        const stream = createReadStream(modelPath, { highWaterMark: 16 * 1024 });
        stream.on('data', () => {
          stream.pause();
          setTimeout(() => stream.resume(), 50);
        });
        response.on('close', () => stream.destroy());
        stream.pipe(response);
        return;
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    await engine.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    home.remove();
  });

  it('completes a typed path with folders and .gguf files only', async () => {
    const folder = join(home.path, 'browse');
    mkdirSync(join(folder, 'llama-models'), { recursive: true });
    writeFileSync(join(folder, 'llama-3.gguf'), 'x');
    writeFileSync(join(folder, 'notes.txt'), 'x');
    writeFileSync(join(folder, '.hidden.gguf'), 'x');
    const all = await engine.call('files.complete', { prefix: `${folder}${sep}` });
    expect(all.folder).toBe(folder);
    expect(all.entries.map((entry) => [entry.name, entry.kind])).toEqual([
      ['llama-models', 'folder'],
      ['llama-3.gguf', 'file'],
    ]);
    expect(all.entries[0]?.path).toBe(join(folder, 'llama-models') + sep);
    const typed = await engine.call('files.complete', { prefix: join(folder, 'llama-3') });
    expect(typed.entries.map((entry) => entry.name)).toEqual(['llama-3.gguf']);
    expect(typed.entries[0]?.sizeBytes).toBe(1);
    expect((await engine.call('files.complete', { prefix: `${folder}${sep}.` })).entries.map((entry) => entry.name)).toEqual(['.hidden.gguf']);
    expect((await engine.call('files.complete', { prefix: join(folder, 'missing', 'x') })).entries).toEqual([]);
    expect((await engine.call('files.complete', { prefix: `${folder}${sep}`, extensions: ['.txt'] })).entries.map((entry) => entry.name)).toEqual(['llama-models', 'notes.txt']);
  });

  it('estimates memory from the GGUF header before loading', async () => {
    const estimate = await engine.call('models.estimate', { model: modelPath, contextSize: 128, cpu: true });
    expect(estimate.fileBytes).toBe(statSync(modelPath).size);
    // 2 (K and V) · 2 blocks · 128 positions · 2 KV heads · 16 per head · 2 bytes (f16)
    expect(estimate.kvCacheBytes).toBe(2 * 2 * 128 * 2 * 16 * 2);
    expect(estimate.totalBytes).toBe(estimate.weightsBytes + (estimate.kvCacheBytes as number));
    // F32 weights: 4 bytes per parameter
    expect(estimate.parameterCount * 4).toBe(estimate.weightsBytes);
    expect(estimate.ram.totalBytes).toBeGreaterThan(estimate.ram.freeBytes);
    expect(estimate.fits).toBe('ram');
  });

  it('refuses a layer past the model depth before a job starts, naming the field', async () => {
    const data = join(home.path, 'texts.jsonl');
    writeFileSync(data, Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: `Short note number ${i} about ${'abcdef'.slice(i % 4)}.` })).join('\n'));
    const imported = await engine.call('datasets.import', { path: data, name: 'texts' });
    await engine.jobs.wait(imported.id);
    const before = engine.jobs.list().length;
    const error = await engine.call('saes.train', { model: modelPath, dataset: 'texts', layer: 2, features: 64, k: 4 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'LAYER_OUT_OF_RANGE', details: { param: 'layer', layer: 2, blockCount: 2, max: 1 } });
    expect((error as Error).message).toContain('0 to 1');
    const kError = await engine.call('saes.train', { model: modelPath, dataset: 'texts', layer: 1, features: 16, k: 32 }).catch((caught: unknown) => caught);
    expect(kError).toMatchObject({ code: 'INVALID_ARGUMENT', details: { param: 'k' } });
    expect(engine.jobs.list().length).toBe(before);
  });

  it('reports normalised MSE, L0 and dead features per training step as the job metric series', async () => {
    const job = await engine.call('saes.train', { model: modelPath, dataset: 'texts', layer: 1, features: 128, k: 4, epochs: 2, batchTokens: 32, threads: 1, device: 'cpu', cpuModel: true, name: 'curves' });
    const finished = await engine.jobs.wait(job.id);
    expect(finished.state, JSON.stringify(finished.error)).toBe('done');
    const points = await engine.call('jobs.metrics', { id: job.id });
    expect(points.length).toBeGreaterThan(2);
    expect(points.map((point) => point.seq)).toEqual(points.map((_, i) => i + 1));
    for (const point of points) {
      expect(point.values['normalisedMse']).toBeGreaterThan(0);
      expect(point.values['l0']).toBeGreaterThan(0);
      expect(point.values['l0']).toBeLessThanOrEqual(4);
      expect(point.values['deadFeatures']).toBeGreaterThanOrEqual(0);
      expect(point.values['deadFeatures']).toBeLessThanOrEqual(128);
      expect(point.values['features']).toBe(128);
    }
    // progress counts tokens; the last point is the last step's tokens, the job's total
    expect(points.at(-1)?.done).toBe(finished.done);
    expect(points.at(-1)?.values['step']).toBe((finished.result as { steps: number }).steps);
    // after the first step, a feature counts as dead only when it missed every row so far: fewer than all 128 fire in 32 rows at K = 4
    expect(points[0]?.values['deadFeatures']).toBeGreaterThan(0);
    expect((await engine.call('jobs.metrics', { id: job.id, afterSeq: points.length - 1 })).length).toBe(1);
  }, 120_000);

  it('downloads a model over HTTP as a job with byte progress and registers it', async () => {
    const sizes: number[] = [];
    const unsubscribe = engine.jobs.subscribe((job) => {
      if (job.kind === 'model.pull' && job.total !== null) sizes.push(job.total);
    });
    const job = await engine.call('models.pull', { uri: `${base}/tiny.gguf`, name: 'downloaded' });
    const finished = await engine.jobs.wait(job.id);
    unsubscribe();
    expect(finished.state, JSON.stringify(finished.error)).toBe('done');
    expect(finished.done).toBe(statSync(modelPath).size);
    expect(sizes).toContain(statSync(modelPath).size);
    expect((await engine.call('models.list', {})).map((model) => model.name)).toContain('downloaded');
    expect(readdirSync(join(home.path, 'models'))).toEqual(['tiny.gguf']);
  }, 60_000);

  it('a download cut short fails and leaves nothing behind', async () => {
    const job = await engine.call('models.pull', { uri: `${base}/cut.gguf`, stallTimeoutSeconds: 3 });
    const finished = await engine.jobs.wait(job.id);
    expect(finished.state).toBe('failed');
    expect(finished.error?.code).toMatch(/DOWNLOAD_FAILED|GGUF_TRUNCATED/);
    expect(cuts.length).toBeGreaterThan(0);
    expect(readdirSync(join(home.path, 'models'))).toEqual(['tiny.gguf']);
    expect((await engine.call('models.list', {})).map((model) => model.name)).toEqual(['downloaded']);
  }, 60_000);

  it('a download cancelled mid-way leaves nothing behind', async () => {
    const job = await engine.call('models.pull', { uri: `${base}/slow.gguf` });
    await new Promise<void>((resolve) => {
      const unsubscribe = engine.jobs.subscribe((update) => {
        if (update.id === job.id && update.done > 0) {
          unsubscribe();
          resolve();
        }
      });
    });
    engine.jobs.cancel(job.id);
    const finished = await engine.jobs.wait(job.id);
    expect(finished.state).toBe('cancelled');
    expect(finished.done).toBeLessThan(statSync(modelPath).size);
    expect(readdirSync(join(home.path, 'models'))).toEqual(['tiny.gguf']);
    expect((await engine.call('models.list', {})).map((model) => model.name)).toEqual(['downloaded']);
  }, 60_000);

  it('changes a dataset role and searches its samples, paged', async () => {
    const texts = (await engine.call('datasets.list', {})).find((dataset) => dataset.name === 'texts');
    expect(texts?.role).toBe('seed');
    const changed = await engine.call('datasets.setRole', { id: texts!.id, role: 'anchor' });
    expect(changed.role).toBe('anchor');
    expect((await engine.call('datasets.get', { id: texts!.id })).role).toBe('anchor');
    await expect(engine.call('datasets.setRole', { id: texts!.id, role: 'synthetic' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { param: 'role' } });
    const found = await engine.call('datasets.search', { id: texts!.id, query: 'NUMBER 1', limit: 2 });
    // "number 1", "number 10", "number 11"
    expect(found.total).toBe(3);
    expect(found.samples.map((sample) => sample.ordinal)).toEqual([1, 10]);
    const next = await engine.call('datasets.search', { id: texts!.id, query: 'number 1', offset: 2, limit: 2 });
    expect(next.samples.map((sample) => sample.ordinal)).toEqual([11]);
    expect((await engine.call('datasets.search', { id: texts!.id, query: '100%' })).total).toBe(0);
  });
});
