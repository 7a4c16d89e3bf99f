import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contentHash } from '../../src/core/datasets/contentHash.ts';
import { DatasetRepository } from '../../src/core/datasets/DatasetRepository.ts';
import { ProbeModel } from '../../src/core/llama/ProbeModel.ts';
import { facetSaeLoader, writeFacetSae } from '../../src/core/sae/loaders/facetSaeFormat.ts';
import type { SaeConfig } from '../../src/core/sae/SaeConfig.ts';
import { SaeRegistry } from '../../src/core/sae/SaeRegistry.ts';
import { referenceEncode } from '../../src/core/sae/SaeReference.ts';
import type { SaeWeights } from '../../src/core/sae/SaeWeights.ts';
import type { Store } from '../../src/core/store/Store.ts';
import type { DatasetRole } from '../../src/shared/datasetTypes.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { randomWeights, testConfig } from '../sae/saeFixtures.ts';

export const LAYER = 1;
export const D_SAE = 384;
export const K = 6;

const words = ['river', 'stone', 'cloud', 'lamp', 'seven', 'quiet', 'orange', 'metal', 'window', 'garden', 'signal', 'winter', 'paper', 'violin', 'salt', 'harbor'];

/** Three small datasets: a broad anchor, a narrow seed (few words), an eval set in between. */
export const datasetTexts: Record<string, { role: DatasetRole; texts: string[] }> = {
  anchor: { role: 'anchor', texts: Array.from({ length: 22 }, (_, i) => `Item ${i}: ${Array.from({ length: 3 + (i % 7) }, (_, j) => words[(i * 5 + j * 7) % words.length]).join(' ')}.`) },
  seed: { role: 'seed', texts: Array.from({ length: 7 }, (_, i) => `${words[i % 3]} ${words[(i + 1) % 3]} again ${i}`) },
  evalset: { role: 'eval', texts: Array.from({ length: 9 }, (_, i) => `Note ${i}: ${words[(i * 3) % words.length]} and ${words[(i * 11 + 2) % words.length]}`) },
};

/** Forged llama3 model (3 blocks, n_embd 64) and a hand-built tied TopK SAE on its l_out-1. */
export async function forgeModelAndSae(): Promise<{ modelPath: string; config: SaeConfig; weights: SaeWeights }> {
  const { path } = await forgeTestModel({ family: 'llama3', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 11, contextLength: 512 });
  const config = testConfig({ architecture: 'topk', dIn: 64, dSae: D_SAE, k: K, tied: true, layer: LAYER, modelFamily: 'forged-llama3' });
  const weights = randomWeights(config, 5);
  // tied: W_dec = W_encᵀ, nothing separate stored
  return { modelPath: path, config, weights: { ...weights, wDec: null } };
}

/** Registers the SAE and imports the three datasets into a workspace store. */
export async function populateWorkspace(store: Store, home: string, sae: { config: SaeConfig; weights: SaeWeights }): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'facet-feature-sae-'));
  try {
    await writeFacetSae(folder, sae.config, sae.weights);
    const loaded = await facetSaeLoader.load(folder);
    await new SaeRegistry(store, home).register(loaded, { name: 'test-sae', layer: LAYER });
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
  for (const [name, { role, texts }] of Object.entries(datasetTexts)) insertDataset(store, name, role, texts);
}

/** A ready dataset of single-turn samples, written straight into the store. */
export function insertDataset(store: Store, name: string, role: DatasetRole, texts: string[]): void {
  const repository = new DatasetRepository(store.db);
  repository.transaction(() => {
    const id = repository.create(name, role, 'text', `/fixtures/${name}.jsonl`);
    texts.forEach((text, ordinal) => {
      const sample = { turns: [{ role: 'user' as const, content: text }] };
      if (!repository.insertSample(id, ordinal, ordinal + 1, contentHash(sample), sample)) throw new Error(`duplicate fixture text ${text}`);
    });
    repository.updateCounts(id, texts.length, 0, 0, 'text');
    repository.markReady(id);
  });
}

/** g of one sample computed independently: capture alone, float64 encode of every row t ≥ t0, max. */
export interface ReferenceSample {
  t0: number;
  tokens: number;
  /** feature → [g, peak] */
  g: Map<number, [number, number]>;
}

export async function referenceSampleActivations(modelPath: string, sae: { config: SaeConfig; weights: SaeWeights }, texts: string[], mode: 'architecture' | 'dense-relu'): Promise<ReferenceSample[]> {
  const model = await ProbeModel.load(modelPath, { gpu: false });
  try {
    const context = await model.createContext({ contextSize: 512, threads: 1, kv: 'f32', sequences: 1 });
    const out: ReferenceSample[] = [];
    for (const text of texts) {
      const prepared = model.prepare({ turns: [{ role: 'user', content: text }] }, { maxTokens: 512 });
      const captured = await context.capture([prepared.tokens], { layers: [LAYER] });
      const rows = prepared.tokens.length - prepared.t0;
      const x = captured.activations.get(LAYER)!.subarray(prepared.t0 * 64);
      const codes = referenceEncode(sae.config, sae.weights, x, rows, mode);
      const g = new Map<number, [number, number]>();
      for (let r = 0; r < rows; r++) {
        for (let f = 0; f < D_SAE; f++) {
          const v = codes[r * D_SAE + f]!;
          if (v > 0 && v > (g.get(f)?.[0] ?? 0)) g.set(f, [v, prepared.t0 + r]);
        }
      }
      out.push({ t0: prepared.t0, tokens: prepared.tokens.length, g });
    }
    return out;
  } finally {
    model.dispose();
  }
}

/** FAC and variants recomputed from reference g's with plain loops over Maps (independent of the bitset code). */
export function referenceCoverage(anchor: ReferenceSample[], seed: ReferenceSample[], evaluated: ReferenceSample[] | null, delta: number) {
  const active = (set: ReferenceSample[]) => {
    const s = new Set<number>();
    for (const sample of set) for (const [f, [v]] of sample.g) if (v > delta) s.add(f);
    return s;
  };
  const a = active(anchor);
  const s = active(seed);
  let freqAll = 0;
  let freqCov = 0;
  let magAll = 0;
  let magCov = 0;
  for (const f of a) {
    const vals = anchor.map((sample) => sample.g.get(f)?.[0] ?? 0).filter((v) => v > delta);
    const freq = vals.length / anchor.length;
    const mag = vals.reduce((p, v) => p + v, 0) / vals.length;
    freqAll += freq;
    magAll += mag;
    if (s.has(f)) {
      freqCov += freq;
      magCov += mag;
    }
  }
  const covered = [...a].filter((f) => s.has(f)).length;
  const missing = [...a].filter((f) => !s.has(f)).sort((x, y) => x - y);
  const result: Record<string, unknown> = { threshold: delta, anchorActive: a.size, seedActive: s.size, covered, fac: covered / a.size, facFreq: freqCov / freqAll, facMagnitude: magCov / magAll, missing };
  if (evaluated !== null) {
    const e = active(evaluated);
    result['missingActivatedByEval'] = missing.filter((f) => e.has(f)).length;
    result['missingShareActivatedByEval'] = missing.length === 0 ? null : missing.filter((f) => e.has(f)).length / missing.length;
    result['evalActive'] = e.size;
  }
  return result;
}
