import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/core/store/Store.ts';
import { datasetTexts, forgeModelAndSae, populateWorkspace, referenceCoverage, referenceSampleActivations } from '../features/featureFixtures.ts';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

describe('facet coverage (spawned, --json)', () => {
  const home = tempHome('facet-coverage-cli-');
  afterAll(() => home.remove());

  it('indexes anchor, seed and eval through features.index jobs (dense-relu) and agrees with the recomputation from raw captures', async () => {
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
    expect(jobs).toEqual([
      { kind: 'features.index', state: 'done' },
      { kind: 'features.index', state: 'done' },
      { kind: 'features.index', state: 'done' },
    ]);
  });
});
