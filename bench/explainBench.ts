/**
 * `npm run bench:explain`: explaining the same features with 8 parallel sequences (shared KV
 * prefixes, sampling on the context's threads) against one conversation at a time, in one run.
 *
 * Setup: a forged Mistral-family model (2 blocks, n_embd 512, the real 32k Mistral tokenizer and
 * chat template), a seeded tied TopK SAE on l_out-1 (512 → 4,096, K 16), the sample anchor set
 * (resources/samples) imported and indexed. Then the first FACET_BENCH_FEATURES (default 8)
 * anchor features are explained with 3 candidates each (detection scoring and verification
 * included) twice, with the stored explanations deleted in between:
 * - sequential: `parallel` 1, every conversation decoded alone;
 * - parallel: `parallel` 8.
 * The forged model writes gibberish, so answers are cut by the JSON schema's length limits rather
 * than by their meaning: both runs do the same kind of work. Threads: FACET_BENCH_THREADS (default 2).
 *
 * Final line: {"bench":"explain","featuresPerMin":…,"sequentialFeaturesPerMin":…,"speedup":…}
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FacetEngine } from '../src/engine/FacetEngine.ts';
import { indexDataset } from '../src/core/features/indexDataset.ts';
import { explainFeatures } from '../src/core/interpret/explainFeatures.ts';
import { requireIndexedSpace } from '../src/core/interpret/requireIndexedSpace.ts';
import { selectFeatures } from '../src/core/interpret/selectFeatures.ts';
import { forgedBenchWorkspace } from './forgedBenchWorkspace.ts';

const featureCount = Number(process.env.FACET_BENCH_FEATURES ?? 8);
const threads = Number(process.env.FACET_BENCH_THREADS ?? 2);
const dim = 512;
const dSae = 4096;
const layer = 1;

const home = mkdtempSync(join(tmpdir(), 'facet-bench-explain-'));
const engine = new FacetEngine({ home, shell: 'cli', resumeInterrupted: false });
try {
  const { modelPath } = await forgedBenchWorkspace(engine, { layers: 2, dim, dSae, layer, seed: 5, saeSeed: 'explain-bench-sae', datasets: ['anchor'] });
  await indexDataset(engine.store, home, { model: modelPath, sae: 'bench-sae', dataset: 'anchor', threads, cpu: true });

  const { space } = await requireIndexedSpace(engine.store, home, { model: modelPath, sae: 'bench-sae' });
  const features = selectFeatures(engine.store, space, 'anchor').slice(0, featureCount);
  const run = async (parallel: number): Promise<number> => {
    engine.store.db.prepare('DELETE FROM feature_explanations').run();
    const started = performance.now();
    const report = await explainFeatures(engine.store, home, { spaceId: space.id, features, candidates: 3, explainer: { parallel, threads, cpu: true } });
    if (report.explained.length !== features.length) throw new Error(`explained ${report.explained.length} of ${features.length} features`);
    return (performance.now() - started) / 60_000;
  };
  const sequentialMinutes = await run(1);
  const parallelMinutes = await run(8);
  const featuresPerMin = features.length / parallelMinutes;
  const sequentialFeaturesPerMin = features.length / sequentialMinutes;
  process.stdout.write(
    `${JSON.stringify({ bench: 'explain', featuresPerMin: Number(featuresPerMin.toFixed(2)), sequentialFeaturesPerMin: Number(sequentialFeaturesPerMin.toFixed(2)), speedup: Number((featuresPerMin / sequentialFeaturesPerMin).toFixed(2)), features: features.length, candidates: 3, threads })}\n`,
  );
} finally {
  await engine.close();
  rmSync(home, { recursive: true, force: true });
}
