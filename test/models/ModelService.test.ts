import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, copyFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelService, resolveModel } from '../../src/core/models/ModelService.ts';
import { Store } from '../../src/core/store/Store.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';

const dir = mkdtempSync(join(tmpdir(), 'facet-models-'));
let modelPath: string;
let store: Store;
let service: ModelService;

beforeAll(async () => {
  const forged = await forgeTestModel({ family: 'qwen2', layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 31 });
  modelPath = join(dir, 'tiny-qwen.gguf');
  copyFileSync(forged.path, modelPath);
  store = Store.open(join(dir, 'workspace', 'facet.db'));
  service = new ModelService(store);
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('model registry', () => {
  it('registers a GGUF with its metadata and streamed content hash', async () => {
    const phases = new Set<string>();
    const { model, alreadyRegistered } = await service.add(modelPath, { onProgress: (p) => phases.add(p.phase) });
    expect(alreadyRegistered).toBe(false);
    expect(phases).toEqual(new Set(['hash']));
    expect(model).toMatchObject({
      name: 'tiny-qwen',
      path: modelPath,
      architecture: 'qwen2',
      blockCount: 2,
      embeddingLength: 64,
      headCount: 4,
      headCountKv: 2,
      contextLength: 2048,
      vocabSize: 151936,
      fileType: 0,
      quantization: 'F32',
      tokenizerModel: 'gpt2',
      tokenizerPre: 'qwen2',
      sizeBytes: statSync(modelPath).size,
      source: 'file',
    });
    expect(model.chatTemplate).toContain('<|im_start|>');
    expect(model.contentHash).toBe(createHash('sha256').update(readFileSync(modelPath)).digest('hex'));
    expect(service.list().map((m) => m.name)).toEqual(['tiny-qwen']);
    expect(service.get('tiny-qwen')).toEqual(model);
  });

  it('is idempotent for the same file and refuses a taken name', async () => {
    const again = await service.add(modelPath);
    expect(again.alreadyRegistered).toBe(true);
    const other = join(dir, 'other.gguf');
    copyFileSync(modelPath, other);
    await expect(service.add(other, { name: 'tiny-qwen' })).rejects.toMatchObject({ code: 'MODEL_NAME_TAKEN' });
    const second = await service.add(other, { name: 'second' });
    expect(second.model.contentHash).toBe(service.get('tiny-qwen').contentHash);
    await expect(service.add(other, { name: 'a/b' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    service.remove('second');
  });

  it('registers nothing for a non-GGUF, a truncated or a missing file', async () => {
    const text = join(dir, 'readme.gguf');
    writeFileSync(text, 'not a model');
    const invalid = await service.add(text).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: 'GGUF_INVALID' });
    expect((invalid as Error).message).toContain(text);

    const cut = join(dir, 'cut.gguf');
    copyFileSync(modelPath, cut);
    truncateSync(cut, statSync(modelPath).size - 1000);
    const truncated = await service.add(cut).catch((e: unknown) => e);
    expect(truncated).toMatchObject({ code: 'GGUF_TRUNCATED' });
    expect((truncated as Error).message).toMatch(/cut\.gguf is truncated: tensor .* \(byte offset \d+\)/);

    await expect(service.add(join(dir, 'absent.gguf'))).rejects.toMatchObject({ code: 'MODEL_FILE_NOT_FOUND' });
    expect(service.list().map((m) => m.name)).toEqual(['tiny-qwen']);
  });

  it('stops on cancellation, before or while hashing, and registers nothing', async () => {
    await expect(service.add(modelPath, { name: 'cancelled', signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'CANCELLED' });
    const controller = new AbortController();
    const during = service.add(modelPath, { name: 'cancelled', signal: controller.signal, onProgress: () => controller.abort() });
    await expect(during).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(service.list().map((m) => m.name)).toEqual(['tiny-qwen']);
  });

  it('resolves a name or a path, and says when neither exists or the file vanished', async () => {
    expect(await resolveModel(store, 'tiny-qwen')).toMatchObject({ path: modelPath, record: { name: 'tiny-qwen' } });
    expect(await resolveModel(store, modelPath)).toEqual({ path: modelPath, record: null });
    await expect(resolveModel(store, 'nope')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    const moved = `${modelPath}.moved`;
    renameSync(modelPath, moved);
    try {
      await expect(resolveModel(store, 'tiny-qwen')).rejects.toMatchObject({ code: 'MODEL_FILE_NOT_FOUND' });
    } finally {
      renameSync(moved, modelPath);
    }
  });

  it('removes a model from the registry and keeps the file', () => {
    const removed = service.remove('tiny-qwen');
    expect(removed.name).toBe('tiny-qwen');
    expect(service.list()).toEqual([]);
    expect(statSync(modelPath).isFile()).toBe(true);
    expect(() => service.remove('tiny-qwen')).toThrow(expect.objectContaining({ code: 'MODEL_NOT_FOUND' }));
  });
});

describe('model download', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    // A local file server (HEAD, GET, byte ranges): the real downloader runs without internet.
    server = createServer((request, response) => {
      if (request.url !== '/files/tiny.gguf') {
        response.writeHead(404).end('not found');
        return;
      }
      const size = statSync(modelPath).size;
      const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      const end = range && range[2] !== '' ? Number(range[2]) : size - 1;
      response.writeHead(range ? 206 : 200, {
        'content-length': end - start + 1,
        'accept-ranges': 'bytes',
        'content-type': 'application/octet-stream',
        ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
      });
      if (request.method === 'HEAD') response.end();
      else createReadStream(modelPath, { start, end }).pipe(response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('downloads over http with progress and registers the file', async () => {
    const pulls = new ModelService(store, { modelsDir: join(dir, 'downloads') });
    const phases: string[] = [];
    const { model } = await pulls.pull(`${base}/files/tiny.gguf`, { name: 'pulled', onProgress: (p) => { if (phases.at(-1) !== p.phase) phases.push(p.phase); } });
    expect(phases).toEqual(['download', 'hash']);
    expect(model).toMatchObject({ name: 'pulled', architecture: 'qwen2', source: `${base}/files/tiny.gguf`, sizeBytes: statSync(modelPath).size });
    expect(model.path.startsWith(join(dir, 'downloads'))).toBe(true);
    expect(model.contentHash).toBe(createHash('sha256').update(readFileSync(modelPath)).digest('hex'));
    pulls.remove('pulled');
  });

  it('fails with DOWNLOAD_FAILED quickly when the host cannot be reached', async () => {
    // A port that was just free: connection refused, no traffic leaves the machine.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const started = Date.now();
    const error = await service.pull(`hf:facet/absent-model:Q4_K_M`, { huggingFaceEndpoint: `http://127.0.0.1:${closedPort}/`, stallTimeoutMs: 3000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DOWNLOAD_FAILED' });
    expect((error as Error).message).toContain('hf:facet/absent-model:Q4_K_M');
    expect(Date.now() - started).toBeLessThan(3000);
    const refused = await service.pull(`http://127.0.0.1:${closedPort}/model.gguf`, { stallTimeoutMs: 3000 }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'DOWNLOAD_FAILED' });
    expect(service.list()).toEqual([]);
  });

  it('fails with DOWNLOAD_FAILED when the server has no such file', async () => {
    const error = await service.pull(`${base}/files/missing.gguf`, { stallTimeoutMs: 3000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DOWNLOAD_FAILED' });
    expect(service.list()).toEqual([]);
  });

  it('rejects an address that is not a model URI', async () => {
    await expect(service.pull('ftp://example/x.gguf')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
