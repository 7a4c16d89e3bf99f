import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/core/store/Store.ts';
import { decodeSampleFeatures } from '../../src/core/features/SampleFeatures.ts';
import { datasetTexts, forgeModelAndSae, insertDataset, populateWorkspace, referenceCoverage, referenceSampleActivations } from '../features/featureFixtures.ts';
import { runFacet, startFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

describe('facet coverage (spawned, --json)', () => {
  const home = tempHome('facet-coverage-cli-');
  afterAll(() => home.remove());

  it('indexes anchor, seed and eval inside one coverage.measure job (dense-relu) and agrees with the recomputation from raw captures', async () => {
    const forged = await forgeModelAndSae();
    const sae = { config: forged.config, weights: forged.weights };
    const store = Store.open(join(home.path, 'facet.db'));
    await populateWorkspace(store, home.path, sae);
    store.close();
    const reference = {
      anchor: await referenceSampleActivations(forged.modelPath, sae, datasetTexts['anchor']!.texts, 'dense-relu'),
      seed: await referenceSampleActivations(forged.modelPath, sae, datasetTexts['seed']!.texts, 'dense-relu'),
      evalset: await referenceSampleActivations(forged.modelPath, sae, datasetTexts['evalset']!.texts, 'dense-relu'),
    };
    // δ values far (> 1e-4) from every reference g, so float32 vs float64 cannot flip a comparison
    const values = Object.values(reference).flatMap((set) => set.flatMap((sample) => [...sample.g.values()].map(([v]) => v)));
    const thresholds = [0, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5].filter((d) => values.every((v) => Math.abs(v - d) > 1e-4)).slice(0, 3);
    expect(thresholds.length).toBe(3);

    const result = await runFacet(
      ['coverage', '--model', forged.modelPath, '--sae', 'test-sae', '--anchor', 'anchor', '--seed', 'seed', '--eval', 'evalset', '--threshold', thresholds.join(','), '--encode', 'dense-relu', '--kv', 'f32', '--threads', '1', '--cpu', '--json'],
      home.path,
      { timeoutMs: 100_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(output).toHaveLength(3);
    output.forEach((entry, j) => {
      const expected = referenceCoverage(reference.anchor, reference.seed, reference.evalset, thresholds[j]!);
      for (const key of ['threshold', 'anchorActive', 'seedActive', 'covered', 'missing', 'evalActive', 'missingActivatedByEval']) expect({ key, value: entry[key] }).toEqual({ key, value: expected[key] });
      for (const key of ['fac', 'facFreq', 'facMagnitude', 'missingShareActivatedByEval']) {
        if (expected[key] === null) expect(entry[key]).toBeNull();
        else expect(entry[key] as number).toBeCloseTo(expected[key] as number, 4);
      }
    });
    // dense-relu activates far more features than TopK K=6 would over these few samples
    expect(output[0]!['anchorActive'] as number).toBeGreaterThan(300);

    const after = Store.open(join(home.path, 'facet.db'));
    const jobs = after.db.prepare<[], { kind: string; state: string }>(`SELECT kind, state FROM jobs ORDER BY created_at`).all();
    after.close();
    // the CLI runs the same job the Coverage page starts, so every shell of the workspace sees it
    expect(jobs).toEqual([{ kind: 'coverage.measure', state: 'done' }]);
  });
});

describe('facet coverage killed while indexing', () => {
  const home = tempHome('facet-coverage-kill-');
  afterAll(() => home.remove());

  it('keeps whole batches only, and the next run resumes the index from the stored samples', async () => {
    const forged = await forgeModelAndSae();
    const sae = { config: forged.config, weights: forged.weights };
    const dbPath = join(home.path, 'facet.db');
    const store = Store.open(dbPath);
    await populateWorkspace(store, home.path, sae);
    const words = ['amber', 'birch', 'coral', 'delta', 'ember', 'fjord', 'grove', 'heron', 'inlet', 'juniper', 'kelp', 'lagoon'];
    const texts = Array.from({ length: 480 }, (_, i) => `Line ${i}: ${Array.from({ length: 6 + (i % 11) }, (_, j) => words[(i * 7 + j * 5) % words.length]).join(' ')}`);
    insertDataset(store, 'big', 'anchor', texts);
    store.close();
    const args = ['coverage', '--model', forged.modelPath, '--sae', 'test-sae', '--anchor', 'big', '--seed', 'seed', '--kv', 'f32', '--threads', '1', '--cpu', '--json'];

    const child = startFacet(args, home.path);
    const watcher = Store.open(dbPath);
    const indexed = watcher.db.prepare<[], { indexed_count: number }>(`SELECT indexed_count FROM feature_indexes i JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'big'`);
    const deadline = Date.now() + 60_000;
    while ((indexed.get()?.indexed_count ?? 0) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('close', resolve));
    const atKill = indexed.get()!.indexed_count;
    const rows = watcher.db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM feature_index_samples s JOIN feature_indexes i ON i.id = s.index_id JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'big'`).get()!.n;
    watcher.close();
    // the progress and the sample rows of a batch commit together: whole batches of 32
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(texts.length);
    expect(atKill % 32).toBe(0);
    expect(rows).toBe(atKill);

    const second = await runFacet(args, home.path, { timeoutMs: 100_000 });
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    const result = JSON.parse(second.stdout) as { anchorActive: number; fac: number };
    expect(result.anchorActive).toBeGreaterThan(0);
    const after = Store.open(dbPath);
    const jobs = after.db.prepare<[], { state: string; result: string | null }>(`SELECT state, result FROM jobs WHERE kind = 'coverage.measure' ORDER BY created_at`).all();
    const sampleRows = after.db.prepare<[], { ordinal: number }>(`SELECT s.ordinal FROM feature_index_samples s JOIN feature_indexes i ON i.id = s.index_id JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'big' ORDER BY s.ordinal`).all();
    after.close();
    // the killed job stays 'running' under a dead pid (facet jobs resume would pick it up); the new run resumed its index
    const resumed = jobs
      .flatMap((job) => (job.result === null ? [] : (JSON.parse(job.result) as { indexing: { dataset: string; resumedFrom: number }[] }).indexing))
      .find((summary) => summary.dataset === 'big');
    expect(jobs.map((job) => job.state)).toEqual(['running', 'done']);
    expect(resumed!.resumedFrom).toBe(atKill);
    expect(sampleRows.map((row) => row.ordinal)).toEqual(texts.map((_, i) => i));
    // spot-check resumed samples against the independent recomputation
    const check = [0, atKill - 1, atKill, texts.length - 1];
    const reference = await referenceSampleActivations(forged.modelPath, sae, check.map((i) => texts[i]!), 'architecture');
    const again = Store.open(dbPath);
    const entries = again.db.prepare<[number], { entries: Buffer }>(`SELECT s.entries FROM feature_index_samples s JOIN feature_indexes i ON i.id = s.index_id JOIN datasets d ON d.id = i.dataset_id WHERE d.name = 'big' AND s.ordinal = ?`);
    check.forEach((ordinal, i) => {
      const stored = decodeSampleFeatures(entries.get(ordinal)!.entries);
      expect([...stored.features]).toEqual([...reference[i]!.g.keys()].sort((a, b) => a - b));
    });
    again.close();
  });
});
