import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFacetSae } from '../../src/core/sae/loaders/facetSaeFormat.ts';
import { SaeRegistry } from '../../src/core/sae/SaeRegistry.ts';
import { Store } from '../../src/core/store/Store.ts';
import { randomWeights, testConfig } from './saeFixtures.ts';

function workspace(): { home: string; store: Store; registry: SaeRegistry } {
  const home = mkdtempSync(join(tmpdir(), 'facet-sae-registry-'));
  const store = Store.open(join(home, 'facet.db'));
  return { home, store, registry: new SaeRegistry(store, home) };
}

async function writeTrained(folder: string, seed: number): Promise<void> {
  const config = testConfig({ architecture: 'topk', dIn: 8, dSae: 24, k: 4, tied: true, layer: 2, modelFamily: 'tiny-llama3' });
  const { source: _source, hash: _hash, ...plain } = config;
  await writeFacetSae(folder, plain, randomWeights(config, seed));
}

describe('SaeRegistry (SQLite store, migration 0003)', () => {
  it('registers, finds by name / id / hash prefix, honours --layer, loads the stored copy, removes', async () => {
    const { home, store, registry } = workspace();
    expect(store.schemaVersion).toBeGreaterThanOrEqual(3);
    const folder = join(home, 'trained');
    await writeTrained(folder, 1);
    const record = await registry.importSae(folder, { name: 'mine', layer: 5 });
    expect(record).toMatchObject({ name: 'mine', format: 'facet', architecture: 'topk', dIn: 8, dSae: 24, k: 4, layer: 5, modelFamily: 'tiny-llama3' });
    expect(record.config.source.notes).toContain('Layer set to 5 at import.');
    expect(registry.get('mine').id).toBe(record.id);
    expect(registry.get(String(record.id)).name).toBe('mine');
    expect(registry.get(record.hash.slice(0, 10)).name).toBe('mine');
    expect(() => registry.get('nope')).toThrow(expect.objectContaining({ code: 'SAE_NOT_FOUND', message: expect.stringMatching(/registered: mine/) }));

    const loaded = await registry.load('mine');
    expect(loaded.config.layer).toBe(5);
    expect(loaded.weights.wEnc).toHaveLength(8 * 24);
    const session = await registry.openSession('mine', { threads: 1, provider: 'cpu' });
    expect((await session.encodeSparse(new Float32Array(8).fill(1), 1)).indices.length).toBeLessThanOrEqual(4);
    await session.dispose();

    await expect(registry.importSae(folder, { name: 'twice' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/already registered as 'mine'/) });
    await expect(registry.importSae(folder, { name: 'bad name!' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(registry.list().map((r) => r.name)).toEqual(['mine']);

    await registry.remove('mine');
    expect(registry.list()).toEqual([]);
    expect(readdirSync(join(home, 'saes'))).toEqual([]);
    store.close();
  });

  it('refuses stored files that changed after import', async () => {
    const { home, store, registry } = workspace();
    await writeTrained(join(home, 'trained'), 2);
    const record = await registry.importSae(join(home, 'trained'), { name: 'tampered' });
    const weights = join(registry.storagePath(record), 'sae.safetensors');
    expect(existsSync(weights)).toBe(true);
    // Same size, different bytes: overwrite the last byte of the file.
    const fd = openSync(weights, 'r+');
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, fstatSync(fd).size - 1);
    writeSync(fd, Buffer.from([(last[0] as number) ^ 0xff]), 0, 1, fstatSync(fd).size - 1);
    closeSync(fd);
    await expect(registry.load('tampered')).rejects.toMatchObject({ code: 'SAE_FILE_INVALID', message: expect.stringMatching(/changed since import/) });
    store.close();
  });
});
