import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CompareRepository } from '../../src/core/compare/CompareRepository.ts';
import { migrations } from '../../src/core/store/migrations/index.ts';
import { Store } from '../../src/core/store/Store.ts';
import { tempHome } from '../support/tempHome.ts';

describe('migration 0007: comparison runs and partners', () => {
  let home: { path: string; remove(): void };
  beforeEach(() => {
    home = tempHome('facet-migration-7-');
  });
  afterEach(() => home.remove());

  it('adds the tables to a version-6 workspace; runs are unique per request and go with their feature space', () => {
    const path = join(home.path, 'facet.db');
    const before = Store.open(path, { migrations: migrations.slice(0, 6) });
    before.db.prepare(`INSERT INTO saes (name, hash, format, architecture, d_in, d_sae, k, layer, model_family, config, storage_dir, size_bytes, created_at) VALUES ('s', 'h', 'facet', 'topk', 4, 8, 2, 1, null, '{}', 'd', 0, 'now')`).run();
    const space = before.db.prepare(`INSERT INTO feature_spaces (key, sae_id, model_hash, model_name, layer, encode_mode, template, max_tokens, kv, min_activation, d_sae, created_at) VALUES (?, 1, 'm', 'm', 1, 'topk', 1, 512, 'f16', 0, 8, 'now')`);
    space.run('k1');
    space.run('k2');
    expect(() => before.db.prepare('SELECT * FROM compare_runs').all()).toThrow(/no such table/);
    before.close();

    const after = Store.open(path, { migrations: migrations.slice(0, 7) });
    try {
      expect(after.schemaVersion).toBe(7);
      const runs = new CompareRepository(after.db);
      const request = { key: 'request-1', jobId: null, spaceAId: 1, spaceBId: 2, datasets: [], method: 'm', params: { minSupport: 5, top: 3, threshold: 0, maxPairs: 256 } };
      const run = runs.ensure(request);
      expect(runs.ensure(request).id).toBe(run.id);
      runs.finish(run.id, [{ a: 3, rank: 0, b: 7, correlation: 0.9, mutual: true }], { ok: true });
      expect(runs.get(run.id)!.state).toBe('done');
      expect(runs.bestPartners(run.id)).toEqual([{ a: 3, rank: 0, b: 7, correlation: expect.closeTo(0.9, 12) as number, mutual: true }]);
      expect(() => after.db.prepare(`INSERT INTO compare_partners (run_id, a, rank, b, correlation, mutual) VALUES (?, 1, 0, 1, 0.5, 2)`).run(run.id)).toThrow(/CHECK constraint/);
      // removing a feature space removes its comparisons and their partners
      after.db.prepare('DELETE FROM feature_spaces WHERE id = 2').run();
      expect(after.db.prepare('SELECT COUNT(*) AS n FROM compare_runs').get()).toEqual({ n: 0 });
      expect(after.db.prepare('SELECT COUNT(*) AS n FROM compare_partners').get()).toEqual({ n: 0 });
    } finally {
      after.close();
    }
  });
});
