import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/core/datasets/contentHash.ts';
import { DatasetRepository } from '../../src/core/datasets/DatasetRepository.ts';
import { migrations } from '../../src/core/store/migrations/index.ts';
import { Store } from '../../src/core/store/Store.ts';
import { tempHome } from '../support/tempHome.ts';

describe('migration 0006: the synthetic role and synthesis tables', () => {
  let home: { path: string; remove(): void };
  beforeEach(() => {
    home = tempHome('facet-migration-6-');
  });
  afterEach(() => home.remove());

  it('widens the datasets role check without touching datasets, samples or feature indexes', () => {
    const path = join(home.path, 'facet.db');
    const before = Store.open(path, { migrations: migrations.slice(0, 5) });
    const datasets = new DatasetRepository(before.db);
    const id = datasets.create('seed', 'seed', 'text', '/x.jsonl');
    const samples = ['one', 'two', 'three'].map((text) => ({ turns: [{ role: 'user' as const, content: text }] }));
    samples.forEach((sample, i) => datasets.insertSample(id, i, i + 1, contentHash(sample), sample));
    datasets.updateCounts(id, 3, 0, 0, 'text');
    datasets.markReady(id);
    before.db.prepare(`INSERT INTO saes (name, hash, format, architecture, d_in, d_sae, k, layer, model_family, config, storage_dir, size_bytes, created_at) VALUES ('s', 'h', 'facet', 'topk', 4, 8, 2, 1, null, '{}', 'd', 0, 'now')`).run();
    before.db
      .prepare(`INSERT INTO feature_spaces (key, sae_id, model_hash, model_name, layer, encode_mode, template, max_tokens, kv, min_activation, d_sae, created_at) VALUES ('k', 1, 'm', 'm', 1, 'topk', 1, 512, 'f16', 0, 8, 'now')`)
      .run();
    before.db.prepare(`INSERT INTO feature_indexes (space_id, dataset_id, sample_count, state, created_at) VALUES (1, ?, 3, 'indexing', 'now')`).run(id);
    expect(() => datasets.create('syn', 'synthetic', 'text', '/y')).toThrow(/CHECK constraint/);
    before.close();

    const after = Store.open(path, { migrations: migrations.slice(0, 6) });
    try {
      expect(after.schemaVersion).toBe(6);
      const repository = new DatasetRepository(after.db);
      expect(repository.samples(id, 0, 10).map((sample) => sample.turns[0]!.content)).toEqual(['one', 'two', 'three']);
      expect(after.db.prepare('SELECT COUNT(*) AS n FROM feature_indexes WHERE dataset_id = ?').get(id)).toEqual({ n: 1 });
      const synthetic = repository.create('syn', 'synthetic', 'text', '/y');
      expect(repository.get(synthetic)!.role).toBe('synthetic');
      expect(() => repository.create('bad', 'bogus' as never, 'text', '/z')).toThrow(/CHECK constraint/);
      expect(after.db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(after.db.pragma('foreign_key_check')).toEqual([]);
      // removing the seed still cascades to its samples and index (foreign keys kept)
      repository.remove(id);
      expect(after.db.prepare('SELECT COUNT(*) AS n FROM samples').get()).toEqual({ n: 0 });
      expect(after.db.prepare('SELECT COUNT(*) AS n FROM feature_indexes').get()).toEqual({ n: 0 });
      for (const table of ['synthesis_runs', 'synthesis_features', 'synthesis_candidates', 'synthetic_samples']) {
        expect(after.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get()).toEqual({ n: 0 });
      }
    } finally {
      after.close();
    }
  });
});
