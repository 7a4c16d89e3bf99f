import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSpaces, type CompareReport } from '../../src/core/compare/compareSpaces.ts';
import { FeatureIndexRepository } from '../../src/core/features/FeatureIndexRepository.ts';
import { decodeSampleFeatures } from '../../src/core/features/SampleFeatures.ts';
import { Store } from '../../src/core/store/Store.ts';
import { insertDataset } from '../features/featureFixtures.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { randomWeights, testConfig } from '../sae/saeFixtures.ts';
import { tempHome } from '../support/tempHome.ts';
import { densePearson, permutedSae, registerSae, sharedTexts } from './compareFixtures.ts';

const D_SAE = 256;
const LAYER = 1;

/** Dense float64 g per feature over all samples of the given ready indexes (zeros filled in). */
function denseProfiles(repository: FeatureIndexRepository, indexIds: number[], dSae: number): Float64Array[] {
  const samples = indexIds.reduce((sum, id) => sum + repository.indexById(id)!.sampleCount, 0);
  const out = Array.from({ length: dSae }, () => new Float64Array(samples));
  let row = 0;
  for (const id of indexIds) {
    for (const sample of repository.samples(id)) {
      const decoded = decodeSampleFeatures(sample.entries);
      decoded.features.forEach((f, i) => (out[f]![row] = decoded.values[i]!));
      row++;
    }
  }
  return out;
}


describe('compare: a permuted, rescaled, perturbed copy of an SAE is matched back', () => {
  const home = tempHome('facet-compare-perm-');
  let store: Store;
  let modelPath: string;
  let permutation: Int32Array;
  let permuted: CompareReport;
  let unrelated: CompareReport;

  beforeAll(async () => {
    modelPath = (await forgeTestModel({ family: 'llama3', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 11, contextLength: 512 })).path;
    store = Store.open(join(home.path, 'facet.db'));
    // plain ReLU SAE: per-feature rescaling leaves every Pearson correlation unchanged (TopK would re-select features)
    const config = testConfig({ architecture: 'standard', dIn: 64, dSae: D_SAE, layer: LAYER, modelFamily: 'forged-llama3' });
    const original = randomWeights(config, 5);
    const copy = permutedSae(config, original, 77, 0.02);
    permutation = copy.permutation;
    await registerSae(store, home.path, 'sae-a', { config, weights: original });
    await registerSae(store, home.path, 'sae-perm', { config, weights: copy.weights });
    await registerSae(store, home.path, 'sae-other', { config, weights: randomWeights(config, 99) });
    const texts = sharedTexts(72);
    insertDataset(store, 'shared-1', 'anchor', texts.slice(0, 40));
    insertDataset(store, 'shared-2', 'seed', texts.slice(40));
    const common = { datasets: ['shared-1', 'shared-2'], threads: 1, cpu: true } as const;
    permuted = await compareSpaces(store, home.path, { a: { model: modelPath, sae: 'sae-a', kv: 'f32' }, b: { model: modelPath, sae: 'sae-perm', kv: 'f32' }, ...common });
    unrelated = await compareSpaces(store, home.path, { a: { model: modelPath, sae: 'sae-a', kv: 'f32' }, b: { model: modelPath, sae: 'sae-other', kv: 'f32' }, ...common });
  }, 300_000);

  afterAll(() => {
    store?.close();
    home.remove();
  });

  it('recovers the permutation for ≥ 95% of the supported features, most as mutual pairs', () => {
    expect(permuted.samples).toBe(72);
    expect(permuted.supportedA).toBeGreaterThan(D_SAE / 4);
    const recovered = permuted.pairs.filter((p) => p.b === permutation[p.a]).length;
    const share = recovered / permuted.supportedA;
    console.log(`permutation recovered: ${recovered}/${permuted.supportedA} = ${(share * 100).toFixed(1)}%, mutual ${permuted.mutual}, mean r ${permuted.meanCorrelation?.toFixed(4)}`);
    expect(share).toBeGreaterThanOrEqual(0.95);
    expect(permuted.mutual).toBeGreaterThanOrEqual(0.9 * permuted.supportedA);
  });

  it('scores SVCCA near 1 against a much lower null, and the unrelated SAE near its own null', () => {
    const d = permuted.decoder!;
    const u = unrelated.decoder!;
    console.log(`permuted decoder SVCCA ${d.svcca} (null ${d.svccaNull}), RSA ${d.rsa} (null ${d.rsaNull}); profiles SVCCA ${permuted.profiles.svcca} (null ${permuted.profiles.svccaNull}), RSA ${permuted.profiles.rsa} (null ${permuted.profiles.rsaNull})`);
    console.log(`unrelated decoder SVCCA ${u.svcca} (null ${u.svccaNull}), RSA ${u.rsa} (null ${u.rsaNull}); profiles SVCCA ${unrelated.profiles.svcca} (null ${unrelated.profiles.svccaNull}), RSA ${unrelated.profiles.rsa} (null ${unrelated.profiles.rsaNull}); mutual ${unrelated.mutual}, mean r ${unrelated.meanCorrelation?.toFixed(4)}`);
    expect(d.svcca!).toBeGreaterThan(0.97);
    expect(d.svcca! - d.svccaNull!).toBeGreaterThan(0.3);
    expect(d.rsa!).toBeGreaterThan(0.95);
    expect(Math.abs(d.rsaNull!)).toBeLessThan(0.1);
    expect(permuted.profiles.svcca!).toBeGreaterThan(0.95);
    // unrelated decoders: their matched pairs are no closer than random pairings
    expect(Math.abs(u.svcca! - u.svccaNull!)).toBeLessThan(0.08);
    expect(Math.abs(u.rsa! - u.rsaNull!)).toBeLessThan(0.1);
  });

  it('reports the brute-force float64 Pearson of the stored g (|Δr| ≤ 1e-5) and its argmax partner', () => {
    const repository = new FeatureIndexRepository(store.db);
    for (const report of [permuted, unrelated]) {
      const a = denseProfiles(repository, report.datasets.map((d) => d.indexA), D_SAE);
      const b = denseProfiles(repository, report.datasets.map((d) => d.indexB), D_SAE);
      const support = (v: Float64Array) => v.filter((x) => x > 0).length;
      const candidates = b.map((v, f) => ({ f, v })).filter(({ v }) => support(v) >= 5 && new Set(v).size > 1);
      expect(report.supportedA).toBe(a.filter((v) => support(v) >= 5 && new Set(v).size > 1).length);
      for (const pair of report.pairs) {
        expect(Math.abs(pair.correlation - densePearson(a[pair.a]!, b[pair.b]!))).toBeLessThan(1e-5);
        let best = -Infinity;
        for (const { v } of candidates) best = Math.max(best, densePearson(a[pair.a]!, v));
        expect(pair.correlation).toBeGreaterThan(best - 1e-5);
      }
    }
  });

  it('answers the same request again from the stored run without indexing or computing', async () => {
    const runsBefore = store.db.prepare(`SELECT COUNT(*) AS n FROM compare_runs`).get() as { n: number };
    const again = await compareSpaces(store, home.path, { a: { model: modelPath, sae: 'sae-a', kv: 'f32' }, b: { model: modelPath, sae: 'sae-perm', kv: 'f32' }, datasets: ['shared-2', 'shared-1'], threads: 1, cpu: true });
    expect(again.reused).toBe(true);
    expect(again.runId).toBe(permuted.runId);
    expect(again.indexing).toEqual([]);
    expect(again.pairs).toEqual(permuted.pairs);
    expect((store.db.prepare(`SELECT COUNT(*) AS n FROM compare_runs`).get() as { n: number }).n).toBe(runsBefore.n);
  });

  it('a comparison cut off while matching leaves no partners; the same request then finishes that run', async () => {
    const controller = new AbortController();
    const request = { a: { model: modelPath, sae: 'sae-perm', kv: 'f32' as const }, b: { model: modelPath, sae: 'sae-a', kv: 'f32' as const }, datasets: ['shared-1'], threads: 1, cpu: true };
    await expect(
      compareSpaces(store, home.path, request, {
        signal: controller.signal,
        onProgress: (progress) => {
          if (progress.stage === 'match') controller.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
    const left = store.db.prepare(`SELECT id, state FROM compare_runs ORDER BY id DESC LIMIT 1`).get() as { id: number; state: string };
    expect(left.state).toBe('running');
    expect((store.db.prepare(`SELECT COUNT(*) AS n FROM compare_partners WHERE run_id = ?`).get(left.id) as { n: number }).n).toBe(0);
    const finished = await compareSpaces(store, home.path, request);
    expect(finished.runId).toBe(left.id);
    expect(finished.reused).toBe(false);
    // B→A of the same copy: the inverse permutation
    const inverse = new Int32Array(D_SAE);
    permutation.forEach((j, i) => (inverse[j] = i));
    expect(finished.pairs.filter((p) => p.b === inverse[p.a]).length / finished.supportedA).toBeGreaterThanOrEqual(0.95);
  });

  it('with --threshold δ, g ≤ δ counts as zero on both sides (brute-force reference, |Δr| ≤ 1e-5)', async () => {
    const delta = 0.3;
    const report = await compareSpaces(store, home.path, { a: { model: modelPath, sae: 'sae-a', kv: 'f32' }, b: { model: modelPath, sae: 'sae-other', kv: 'f32' }, datasets: ['shared-1', 'shared-2'], threshold: delta, threads: 1, cpu: true });
    expect(report.params.threshold).toBe(delta);
    expect(report.runId).not.toBe(unrelated.runId);
    const repository = new FeatureIndexRepository(store.db);
    const cut = (profiles: Float64Array[]) => profiles.map((v) => v.map((g) => (g > delta ? g : 0)));
    const a = cut(denseProfiles(repository, report.datasets.map((d) => d.indexA), D_SAE));
    const b = cut(denseProfiles(repository, report.datasets.map((d) => d.indexB), D_SAE));
    const ok = (v: Float64Array) => v.filter((x) => x > 0).length >= 5 && new Set(v).size > 1;
    expect(report.supportedA).toBe(a.filter(ok).length);
    expect(report.supportedA).toBeLessThan(unrelated.supportedA + 1);
    const candidates = b.filter(ok);
    for (const pair of report.pairs) {
      expect(Math.abs(pair.correlation - densePearson(a[pair.a]!, b[pair.b]!))).toBeLessThan(1e-5);
      expect(pair.correlation).toBeGreaterThan(Math.max(...candidates.map((v) => densePearson(a[pair.a]!, v))) - 1e-5);
    }
  });
});
