/**
 * `npm run bench:synthesis`: FAC Synthesis throughput and the share of its time spent verifying.
 *
 * Setup: a forged Mistral-family model (4 blocks, n_embd 256, the real 32k Mistral tokenizer and
 * chat template), a seeded tied TopK SAE on l_out-1 (256 → 4,096, K 16), the sample anchor and
 * seed sets (resources/samples) imported, and their coverage measured (indexing is not timed).
 * Then FAC Synthesis (task toxicity) runs for the first FACET_BENCH_FEATURES (default 4) missing
 * features with n = 2 step-1 and m = 4 step-2 candidates each, up to 96 new tokens, 8 parallel
 * sequences, on FACET_BENCH_THREADS threads (default 2). The forged model writes gibberish, so
 * answers end at the schema's length limits: every candidate does comparable work.
 *
 * - candidatesPerMin: candidates generated (both steps) per minute of the whole run (coherence
 *   bound, generation, gate, final index of the synthetic set and coverage);
 * - gateShare: time in verification (re-measuring each candidate: capture up to the SAE's layer
 *   only and encode; perplexities incl. the anchor bound; n-gram checks; final index) / total.
 *   Target ≤ 0.25.
 *
 * Final line: {"bench":"synthesis","candidatesPerMin":…,"gateShare":…}
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureCoverage } from '../src/core/coverage/measureCoverage.ts';
import { SeededRandom } from '../src/core/forge/SeededRandom.ts';
import { forgeModel } from '../src/core/forge/forgeModel.ts';
import { facetSaeLoader, writeFacetSae } from '../src/core/sae/loaders/facetSaeFormat.ts';
import type { SaeConfig } from '../src/core/sae/SaeConfig.ts';
import { SaeRegistry } from '../src/core/sae/SaeRegistry.ts';
import { synthesizeFeatures } from '../src/core/synthesis/synthesizeFeatures.ts';
import { FacetEngine } from '../src/engine/FacetEngine.ts';

const featureCount = Number(process.env.FACET_BENCH_FEATURES ?? 4);
const threads = Number(process.env.FACET_BENCH_THREADS ?? 2);
const dim = 256;
const dSae = 4096;
const layer = 1;

const home = mkdtempSync(join(tmpdir(), 'facet-bench-synthesis-'));
const engine = new FacetEngine({ home, shell: 'cli', resumeInterrupted: false });
try {
  const modelPath = join(home, 'bench-mistral.gguf');
  await forgeModel({ family: 'mistral', layers: 4, dim, seed: 7, contextLength: 8192, out: modelPath });
  const random = new SeededRandom('synthesis-bench-sae');
  const config = {
    architecture: 'topk',
    dIn: dim,
    dSae,
    k: 16,
    normalisation: { kind: 'none' },
    tied: true,
    applyBDecToInput: true,
    threshold: null,
    modelFamily: 'forged-mistral',
    layer,
    source: { format: 'facet', path: '', files: [], hookName: null, notes: [] },
    hash: '0'.repeat(64),
  } as SaeConfig;
  const saeFolder = join(home, 'sae-src');
  await writeFacetSae(saeFolder, config, { wEnc: random.normalArray(dim * dSae, 1 / Math.sqrt(dim)), bEnc: random.normalArray(dSae, 0.05), wDec: null, bDec: random.normalArray(dim, 0.05), threshold: null });
  await new SaeRegistry(engine.store, home).register(await facetSaeLoader.load(saeFolder), { name: 'bench-sae', layer });
  for (const [name, role] of [['anchor', 'anchor'], ['seed', 'seed']] as const) {
    const file = fileURLToPath(new URL(`../resources/samples/${name}-instructions.jsonl`, import.meta.url));
    const job = await engine.call('datasets.import', { path: file, name, role });
    await engine.jobs.wait(job.id);
  }
  const space = { model: modelPath, sae: 'bench-sae', cpu: true, threads };
  const coverage = await measureCoverage(engine.store, home, { ...space, anchor: 'anchor', seed: 'seed', thresholds: [0] });

  const report = await synthesizeFeatures(engine.store, home, {
    ...space,
    anchor: 'anchor',
    seed: 'seed',
    task: 'toxicity',
    features: `missing:${coverage.runId}`,
    limit: featureCount,
    candidates: 2,
    contrast: 4,
    maxNewTokens: 96,
    generator: { parallel: 8, cpu: true, threads },
  });
  const minutes = report.seconds / 60;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'synthesis',
      candidatesPerMin: Number((report.candidates / minutes).toFixed(2)),
      gateShare: Number((report.gateSeconds / report.seconds).toFixed(3)),
      features: report.features.length,
      candidates: report.candidates,
      accepted: report.accepted.length,
      seconds: Number(report.seconds.toFixed(2)),
      gateSeconds: Number(report.gateSeconds.toFixed(2)),
      threads,
    })}\n`,
  );
} finally {
  await engine.close();
  rmSync(home, { recursive: true, force: true });
}
