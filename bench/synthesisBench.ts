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
import { measureCoverage } from '../src/core/coverage/measureCoverage.ts';
import { synthesizeFeatures } from '../src/core/synthesis/synthesizeFeatures.ts';
import { FacetEngine } from '../src/engine/FacetEngine.ts';
import { forgedBenchWorkspace } from './forgedBenchWorkspace.ts';

const featureCount = Number(process.env.FACET_BENCH_FEATURES ?? 4);
const threads = Number(process.env.FACET_BENCH_THREADS ?? 2);
const dim = 256;
const dSae = 4096;
const layer = 1;

const home = mkdtempSync(join(tmpdir(), 'facet-bench-synthesis-'));
const engine = new FacetEngine({ home, shell: 'cli', resumeInterrupted: false });
try {
  const { modelPath } = await forgedBenchWorkspace(engine, { layers: 4, dim, dSae, layer, seed: 7, saeSeed: 'synthesis-bench-sae', datasets: ['anchor', 'seed'] });
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
