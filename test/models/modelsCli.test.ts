import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFacet } from '../support/runFacet.ts';

const home = mkdtempSync(join(tmpdir(), 'facet-models-cli-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output, checked field by field
const json = (text: string): any => JSON.parse(text.trim().split('\n').at(-1) ?? 'null');
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('facet forge, models and hardware commands', () => {
  it('forges byte-identical files, registers, lists, shows, estimates memory and removes', async () => {
    const out = join(home, 'tiny.gguf');
    const args = ['forge', '--family', 'mistral', '--layers', '2', '--dim', '64', '--heads', '4', '--kv-heads', '2', '--seed', '9', '--json'];
    const first = await runFacet([...args, '--out', out], home);
    expect(first.code, first.stderr).toBe(0);
    expect(json(first.stdout)).toMatchObject({ family: 'mistral', architecture: 'llama', layers: 2, dim: 64, vocabSize: 32000, path: out });
    const again = await runFacet([...args, '--out', join(home, 'tiny2.gguf')], home);
    expect(again.code).toBe(0);
    expect(sha(join(home, 'tiny2.gguf'))).toBe(sha(out));

    const added = await runFacet(['models', 'add', out, '--name', 'tiny', '--json'], home);
    expect(added.code, added.stderr).toBe(0);
    expect(json(added.stdout)).toMatchObject({ name: 'tiny', architecture: 'llama', blockCount: 2, embeddingLength: 64, quantization: 'F32', tokenizerModel: 'llama', alreadyRegistered: false });
    // registered through the model.add job of the Models page, so a facet serve on the workspace showed it
    expect(json((await runFacet(['jobs', 'list', '--json'], home)).stdout)).toMatchObject([{ kind: 'model.add', state: 'done', result: { name: 'tiny', alreadyRegistered: false } }]);
    const twice = await runFacet(['models', 'add', out, '--name', 'tiny', '--json'], home);
    expect(json(twice.stdout)).toMatchObject({ name: 'tiny', alreadyRegistered: true });
    const list = await runFacet(['models', 'list', '--json'], home);
    expect(json(list.stdout).map((m: { name: string }) => m.name)).toEqual(['tiny']);
    const info = await runFacet(['models', 'info', 'tiny'], home);
    expect(info.stdout).toMatch(/chat template\s+\d+ characters/);
    expect(info.stdout).toContain(sha(out));

    const hardware = await runFacet(['hardware', '--cpu', '--model', 'tiny', '--context', '1024', '--json'], home);
    expect(hardware.code, hardware.stderr).toBe(0);
    const report = json(hardware.stdout);
    expect(report.backend).toBe('cpu');
    expect(report.cpu.physicalCores).toBeGreaterThan(0);
    expect(report.ram.totalBytes).toBeGreaterThan(0);
    // 2 (K and V) x 2 blocks x 1024 positions x 2 KV heads x 16 per head x 2 bytes (f16)
    expect(report.estimate).toMatchObject({ model: 'tiny', contextSize: 1024, kvType: 'f16', kvCacheBytes: 2 * 2 * 1024 * 2 * 16 * 2 });
    expect(report.estimate.weightsBytes).toBeGreaterThan(32000 * 64 * 4 * 2);
    expect(report.estimate.totalBytes).toBe(report.estimate.weightsBytes + report.estimate.kvCacheBytes);

    const removed = await runFacet(['models', 'remove', 'tiny', '--json'], home);
    expect(json(removed.stdout)).toEqual({ removed: 'tiny', path: out });
    const missing = await runFacet(['models', 'info', 'tiny', '--json'], home);
    expect(missing.code).toBe(1);
    expect(json(missing.stdout).error.code).toBe('MODEL_NOT_FOUND');
  });

  it('pulls over HTTP as a model.pull job that facet jobs list shows', async () => {
    const served = join(home, 'served-source.gguf');
    expect((await runFacet(['forge', '--family', 'mistral', '--layers', '1', '--dim', '64', '--heads', '4', '--kv-heads', '2', '--seed', '4', '--out', served], home)).code).toBe(0);
    const server = createServer((request, response) => {
      const body = readFileSync(served);
      response.writeHead(request.url === '/m/pulled.gguf' ? 200 : 404, { 'content-length': String(request.url === '/m/pulled.gguf' ? body.length : 0) });
      response.end(request.method === 'HEAD' || request.url !== '/m/pulled.gguf' ? undefined : body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m/pulled.gguf`;
      const pulled = await runFacet(['models', 'pull', url, '--name', 'pulled', '--json'], home, { timeoutMs: 30_000 });
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(json(pulled.stdout)).toMatchObject({ name: 'pulled', architecture: 'llama', alreadyRegistered: false });
      expect(sha(json(pulled.stdout).path)).toBe(sha(served));
      const jobs = json((await runFacet(['jobs', 'list', '--json'], home)).stdout) as { kind: string; state: string; done: number; total: number }[];
      const job = jobs.find((entry) => entry.kind === 'model.pull');
      expect(job).toMatchObject({ state: 'done', done: readFileSync(served).length, total: readFileSync(served).length });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('reports bad input with coded errors', async () => {
    const text = join(home, 'notes.gguf');
    writeFileSync(text, 'hello');
    const invalid = await runFacet(['models', 'add', text, '--json'], home);
    expect(invalid.code).toBe(1);
    expect(json(invalid.stdout).error).toMatchObject({ code: 'GGUF_INVALID' });
    const plain = await runFacet(['models', 'add', text], home);
    expect(plain.stderr).toContain('Error [GGUF_INVALID]');
    expect(plain.stderr).toContain(text);

    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const pull = await runFacet(['models', 'pull', `http://127.0.0.1:${port}/model.gguf`, '--timeout', '3', '--json'], home, { timeoutMs: 20_000 });
    expect(pull.code).toBe(1);
    expect(json(pull.stdout).error.code).toBe('DOWNLOAD_FAILED');

    const badFamily = await runFacet(['forge', '--family', 'gpt2', '--layers', '1', '--dim', '64', '--seed', '1', '--out', join(home, 'x.gguf')], home);
    expect(badFamily.code).toBe(2);
    expect(badFamily.stderr).toContain('INVALID_ARGUMENT');
  });
});
