import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairTokenView } from '../../src/core/compare/pairTokenView.ts';
import { FeatureIndexRepository } from '../../src/core/features/FeatureIndexRepository.ts';
import { decodeSampleFeatures } from '../../src/core/features/SampleFeatures.ts';
import { Store } from '../../src/core/store/Store.ts';
import { insertDataset } from '../features/featureFixtures.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { randomWeights, testConfig } from '../sae/saeFixtures.ts';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';
import { densePearson, registerSae, sharedTexts } from './compareFixtures.ts';

const families = [
  { family: 'llama3', dim: 64, sae: 'sae-llama', seed: 21 },
  { family: 'mistral', dim: 64, sae: 'sae-mistral', seed: 22 },
  { family: 'qwen2', dim: 96, sae: 'sae-qwen', seed: 23 },
] as const;
const D_SAE = 192;

interface CompareJson {
  runId: number;
  pairs: { a: number; b: number; correlation: number }[];
  mutual: number;
  svcca: number | null;
  svccaNull: number | null;
  rsa: number | null;
  rsaNull: number | null;
  profiles: { svcca: number | null; svccaNull: number | null; rsa: number | null; rsaNull: number | null };
}

/** g of every feature over the samples of one dataset index, dense float64 (zeros included). */
function dense(store: Store, indexId: number, dSae: number): Float64Array[] {
  const repository = new FeatureIndexRepository(store.db);
  const n = repository.indexById(indexId)!.sampleCount;
  const out = Array.from({ length: dSae }, () => new Float64Array(n));
  for (const sample of repository.samples(indexId)) {
    const decoded = decodeSampleFeatures(sample.entries);
    decoded.features.forEach((f, i) => (out[f]![sample.ordinal] = decoded.values[i]!));
  }
  return out;
}


describe('facet compare across model families (forged LLaMA-3, Mistral and Qwen2 with their real tokenizers, spawned)', () => {
  const home = tempHome('facet-compare-cli-');
  const paths: Record<string, string> = {};
  beforeAll(async () => {
    const store = Store.open(join(home.path, 'facet.db'));
    for (const f of families) {
      paths[f.family] = (await forgeTestModel({ family: f.family, layers: 3, dim: f.dim, heads: 4, kvHeads: 2, seed: f.seed, contextLength: 512 })).path;
      const config = testConfig({ architecture: 'topk', dIn: f.dim, dSae: D_SAE, k: 8, tied: true, layer: 1, modelFamily: `forged-${f.family}` });
      await registerSae(store, home.path, f.sae, { config, weights: { ...randomWeights(config, f.seed), wDec: null } });
    }
    // accents, CJK and emoji tokenise differently in each family; g per sample needs no alignment
    const texts = sharedTexts(40).map((text, i) => (i % 4 === 0 ? `${text} — café 東京 ${i % 8 === 0 ? '🙂' : 'naïve'}` : text));
    insertDataset(store, 'shared', 'anchor', texts);
    insertDataset(store, 'narrow', 'seed', texts.slice(0, 6));
    store.close();
  }, 120_000);
  afterAll(() => home.remove());

  const space = (f: (typeof families)[number]): string => `${paths[f.family]}:${f.sae}`;
  const firstRun: { output?: CompareJson } = {};

  it('prints the issue JSON shape; correlations and mutual pairs equal a brute-force float64 recomputation from the stored g', async () => {
    for (const [x, y] of [[families[0], families[2]], [families[1], families[0]]] as const) {
      const result = await runFacet(['compare', '--a', space(x), '--b', space(y), '--dataset', 'shared', '--min-support', '3', '--top', '2', '--threads', '1', '--cpu', '--json'], home.path, { timeoutMs: 200_000 });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const output = JSON.parse(result.stdout) as CompareJson;
      firstRun.output ??= output;
      expect(Object.keys(output).sort()).toEqual(['mutual', 'pairs', 'profiles', 'rsa', 'rsaNull', 'runId', 'svcca', 'svccaNull'].sort());
      for (const key of ['svcca', 'svccaNull', 'rsa', 'rsaNull'] as const) expect(typeof output[key]).toBe('number');
      expect(output.pairs.length).toBeGreaterThan(20);

      const store = Store.open(join(home.path, 'facet.db'));
      try {
        const run = store.db.prepare<[number], { datasets: string }>(`SELECT datasets FROM compare_runs WHERE id = ?`).get(output.runId)!;
        const [ref] = JSON.parse(run.datasets) as { indexA: number; indexB: number }[];
        const a = dense(store, ref!.indexA, D_SAE);
        const b = dense(store, ref!.indexB, D_SAE);
        const ok = (v: Float64Array) => v.filter((g) => g > 0).length >= 3 && new Set(v).size > 1;
        const supportedA = a.map((v, f) => [f, v] as const).filter(([, v]) => ok(v));
        const supportedB = b.map((v, f) => [f, v] as const).filter(([, v]) => ok(v));
        const bestOf = (v: Float64Array, candidates: (readonly [number, Float64Array])[], x: 'a' | 'b') => {
          let best = { f: -1, r: -Infinity };
          for (const [f, w] of candidates) {
            const r = x === 'a' ? densePearson(v, w) : densePearson(w, v);
            if (r > best.r + 1e-12) best = { f, r };
          }
          return best;
        };
        let mutual = 0;
        // a supported A feature has a pair exactly when some supported B feature is nonzero in one of its samples
        const coActive = (v: Float64Array) => supportedB.some(([, w]) => v.some((g, s) => g > 0 && w[s]! > 0));
        expect(output.pairs.map((p) => p.a)).toEqual(supportedA.filter(([, v]) => coActive(v)).map(([f]) => f));
        for (const pair of output.pairs) {
          const best = bestOf(a[pair.a]!, supportedB, 'a');
          expect(Math.abs(pair.correlation - best.r)).toBeLessThan(1e-5);
          expect(Math.abs(pair.correlation - densePearson(a[pair.a]!, b[pair.b]!))).toBeLessThan(1e-5);
          if (bestOf(b[pair.b]!, supportedA, 'b').f === pair.a) mutual++;
        }
        expect(output.mutual).toBe(mutual);
      } finally {
        store.close();
      }
    }
  }, 400_000);

  it('answers a repeated request from the stored run (no new index or run), and transfer feeds coverage in the other model', async () => {
    const args = ['compare', '--a', space(families[0]), '--b', space(families[2]), '--dataset', 'shared', '--min-support', '3', '--top', '2', '--threads', '1', '--cpu', '--json'];
    const again = await runFacet(args, home.path, { timeoutMs: 60_000 });
    expect(again.code).toBe(0);
    const first = JSON.parse(again.stdout) as CompareJson;
    const counts = () => {
      const store = Store.open(join(home.path, 'facet.db'));
      try {
        return store.db.prepare(`SELECT (SELECT COUNT(*) FROM compare_runs) AS runs, (SELECT COUNT(*) FROM feature_indexes) AS indexes, (SELECT COUNT(*) FROM compare_partners) AS partners`).get();
      } finally {
        store.close();
      }
    };
    const before = counts();
    const repeated = await runFacet(args, home.path, { timeoutMs: 60_000 });
    expect(JSON.parse(repeated.stdout)).toEqual(first);
    expect(counts()).toEqual(before);
    // the same request in text form, and the run list
    const text = await runFacet(args.filter((arg) => arg !== '--json'), home.path, { timeoutMs: 60_000 });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Comparison run ${first.runId} (stored; nothing recomputed)`);
    expect(text.stdout).toMatch(/decoder directions\s+\│?\s*-?\d\.\d{3}/);
    expect(text.stdout).toContain(`mutual best ${first.mutual}`);
    const list = await runFacet(['compare', 'runs', '--json'], home.path);
    expect((JSON.parse(list.stdout) as { runId: number }[]).map((r) => r.runId)).toContain(first.runId);

    const coverage = await runFacet(['coverage', '--model', paths['llama3']!, '--sae', 'sae-llama', '--anchor', 'shared', '--seed', 'narrow', '--threads', '1', '--cpu', '--json'], home.path, { timeoutMs: 200_000 });
    expect(coverage.code).toBe(0);
    const missing = (JSON.parse(coverage.stdout) as { missing: number[] }).missing;
    expect(missing.length).toBeGreaterThan(5);
    const store = Store.open(join(home.path, 'facet.db'));
    const coverageRunId = (store.db.prepare(`SELECT MAX(id) AS id FROM coverage_runs`).get() as { id: number }).id;
    store.close();
    const out = join(home.path, 'transferred.json');
    const transfer = await runFacet(['compare', 'transfer', '--run', String(first.runId), '--from-coverage', String(coverageRunId), '--min-correlation', '0.3', '--out', out, '--json'], home.path);
    expect(transfer.stderr).toBe('');
    expect(transfer.code).toBe(0);
    const expected = [...new Set(first.pairs.filter((p) => missing.includes(p.a) && p.correlation >= 0.3).map((p) => p.b))].sort((x, y) => x - y);
    expect(expected.length).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(expected);

    const inB = await runFacet(['coverage', '--model', paths['qwen2']!, '--sae', 'sae-qwen', '--anchor', 'shared', '--seed', 'narrow', '--features', out, '--threads', '1', '--cpu', '--json'], home.path, { timeoutMs: 200_000 });
    expect(inB.code).toBe(0);
    const result = JSON.parse(inB.stdout) as { anchorActive: number; missing: number[] };
    expect(result.anchorActive).toBeLessThanOrEqual(expected.length);
    for (const f of result.missing) expect(expected).toContain(f);

    // a coverage run of another space cannot be transferred through this comparison
    const wrong = await runFacet(['compare', 'transfer', '--run', String(first.runId), '--from-coverage', String(coverageRunId + 1), '--out', join(home.path, 'x.json')], home.path);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/COMPARE_SPACE_MISMATCH/);
  }, 600_000);
  it('places both models\' tokens of a matched pair on the same characters; each side\'s max equals the indexed g', async () => {
    const output = firstRun.output!;
    const pair = [...output.pairs].sort((x, y) => y.correlation - x.correlation)[0]!;
    const store = Store.open(join(home.path, 'facet.db'));
    try {
      const run = store.db.prepare<[number], { datasets: string }>(`SELECT datasets FROM compare_runs WHERE id = ?`).get(output.runId)!;
      const [ref] = JSON.parse(run.datasets) as { datasetId: number; indexA: number; indexB: number }[];
      const repository = new FeatureIndexRepository(store.db);
      const check = (view: Awaited<ReturnType<typeof pairTokenView>>) => {
        for (const [side, indexId, feature] of [[view.a, ref!.indexA, pair.a], [view.b, ref!.indexB, pair.b]] as const) {
          const stored = decodeSampleFeatures(repository.sample(indexId, view.ordinal)!.entries);
          const at = stored.features.indexOf(feature);
          const g = at < 0 ? 0 : stored.values[at]!;
          // the index captured in batches with an f16 KV cache, this view one sample alone: same math, other summation order
          expect(Math.abs(side.g - g)).toBeLessThanOrEqual(1e-3 + 0.01 * g);
          // tokens tile the text in order, each placed text is part of its token's own text
          let last = 0;
          let lastStart = -1;
          const covered = new Uint8Array(view.text.length);
          for (const token of side.tokens) {
            // tokens that each hold some bytes of one character share that character's range
            if (!(token.start === lastStart && token.end === last)) expect(token.start).toBeGreaterThanOrEqual(last);
            lastStart = token.start;
            expect(token.end).toBeGreaterThan(token.start);
            expect(token.piece).toContain(view.text.slice(token.start, token.end));
            covered.fill(1, token.start, token.end);
            last = token.end;
          }
          for (let i = 0; i < view.text.length; i++) if (view.text[i]!.trim() !== '' && !/\p{Extended_Pictographic}/u.test(view.text[i]!)) expect({ side: side.model, i, covered: covered[i] }).toEqual({ side: side.model, i, covered: 1 });
          expect(Math.max(0, ...side.tokens.map((t) => t.value))).toBeCloseTo(side.g, 6);
        }
        expect(view.a.model).not.toBe(view.b.model);
      };
      // the sample where the pair fires together most
      const strongest = await pairTokenView(store, home.path, { runId: output.runId, a: pair.a, b: pair.b });
      check(strongest);
      expect(strongest.a.g).toBeGreaterThan(0);
      expect(strongest.b.g).toBeGreaterThan(0);
      // a sample with accents, CJK and an emoji: the two tokenizers cut it differently, the characters still line up
      const mixed = await pairTokenView(store, home.path, { runId: output.runId, a: pair.a, b: pair.b, datasetId: ref!.datasetId, ordinal: 0 });
      expect(mixed.text).toContain('東京');
      check(mixed);
      expect(mixed.a.tokens.map((t) => `${t.start}-${t.end}`).join()).not.toBe(mixed.b.tokens.map((t) => `${t.start}-${t.end}`).join());
    } finally {
      store.close();
    }
  }, 120_000);
});
