import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import type { DatasetRole } from '../../shared/datasetTypes.ts';
import type { SynthesisReport } from '../../shared/synthesisTypes.ts';
import type { ModelSummary } from '../../shared/registryTypes.ts';
import type { CoverageReport } from '../../core/coverage/measureCoverage.ts';
import { forgeModel } from '../../core/forge/forgeModel.ts';
import { SynthesisRepository } from '../../core/synthesis/SynthesisRepository.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';

const help = `Usage: facet demo [--model M] [--layer L] [--threads N] [--synthesize N] [--json]

The headless main job on built-in defaults, end to end:
  1. a model: --model (registered name or .gguf path), else a small LLaMA-3-style model forged
     with the real Llama-3 tokenizer and seeded random weights (registered as demo-llama3);
  2. the sample datasets shipped in resources/samples: an anchor set and a narrow seed set;
  3. a small tied TopK SAE trained on the anchor set at layer L (llama.cpp 0-based l_out index;
     default: the middle block), the paper's recipe at toy size;
  4. the feature index of both sets and Feature Activation Coverage of the seed against the
     anchor at δ = 0, 1, 2, with the top missing features and their text spans;
  5. FAC Synthesis for the --synthesize N (default 3; 0 skips) most frequent missing features
     (instruction-following samples written by the same model, each verified), and FAC of the
     seed and of seed ∪ synthetic side by side (an earlier demo's synthetic set is reused).
Each long step runs as a job of the workspace ('facet jobs list', the Jobs page of a 'facet serve'
on the same workspace shows it live; Ctrl-C cancels it).
A forged model has random weights, so its features mean nothing; pass --model with a real
instruct GGUF (and an SAE of your own via facet coverage) for meaningful features.`;

const samples: { file: string; name: string; role: DatasetRole }[] = [
  { file: 'anchor-instructions.jsonl', name: 'demo-anchor', role: 'anchor' },
  { file: 'seed-instructions.jsonl', name: 'demo-seed', role: 'seed' },
];
const demoSae = { features: 512, k: 8, epochs: 4 };

function samplePath(file: string): string {
  return fileURLToPath(new URL(`../../../resources/samples/${file}`, import.meta.url));
}

function percent(value: number | null): string {
  return value === null ? 'n/a' : `${(value * 100).toFixed(1)}%`;
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, layer: { type: 'string' }, threads: { type: 'string' }, synthesize: { type: 'string', default: '3' }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    ctx.out(help);
    return 0;
  }
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) throw new FacetError('INVALID_ARGUMENT', `--threads must be a positive integer, got '${values.threads}'.`);
  const synthesizeCount = Number(values.synthesize);
  if (!/^\d+$/.test(values.synthesize)) throw new FacetError('INVALID_ARGUMENT', `--synthesize must be a whole number of features (0 skips synthesis), got '${values.synthesize}'.`);
  const note = (line: string): void => {
    if (!ctx.json) ctx.err(line);
  };
  const engine = openCliEngine(ctx);
  try {
    const store = engine.store;
    // 1. The model (registered through the same model.add job as the Models page).
    const registerModel = async (path: string, name?: string): Promise<ModelSummary> => {
      const job = await engine.call('models.add', { path, ...(name !== undefined ? { name } : {}) });
      return (await followJob(engine, ctx, job, `Registering ${name ?? path}`)).result as ModelSummary;
    };
    const models = await engine.call('models.list', {});
    let modelName = values.model;
    let blockCount: number;
    if (modelName === undefined) {
      modelName = 'demo-llama3';
      const existing = models.find((model) => model.name === modelName);
      if (existing === undefined) {
        const path = join(ctx.home, 'models', 'demo-llama3.gguf');
        if (!existsSync(path)) {
          mkdirSync(dirname(path), { recursive: true });
          note('1/5 forging a 4-block LLaMA-3-style model (real Llama-3 tokenizer, seeded weights)…');
          await forgeModel({ family: 'llama3', layers: 4, dim: 128, seed: 2602, out: path }, { signal: ctx.signal });
        }
        await registerModel(path, modelName);
      }
      blockCount = 4;
    } else {
      const found = models.find((model) => model.name === modelName);
      if (found === undefined && !existsSync(modelName)) throw new FacetError('MODEL_NOT_FOUND', `No registered model or file '${modelName}'. See 'facet models list'.`, { model: modelName });
      const registered = found ?? (await registerModel(modelName));
      modelName = registered.name;
      blockCount = registered.blockCount ?? 2;
    }
    const layer = values.layer === undefined ? Math.floor((blockCount - 1) / 2) : Number(values.layer);
    if (!(Number.isInteger(layer) && layer >= 0 && layer < blockCount)) throw new FacetError('LAYER_OUT_OF_RANGE', `--layer must be 0..${blockCount - 1} (llama.cpp 0-based block index), got '${values.layer}'.`);

    // 2. The sample datasets.
    for (const sample of samples) {
      const existing = (await engine.call('datasets.list', {})).find((dataset) => dataset.name === sample.name);
      if (existing?.state === 'ready') continue;
      // An earlier demo killed mid-import left an interrupted job: finish it rather than start over.
      const interrupted = engine.jobs.interrupted().find((job) => job.kind === 'dataset.import' && (engine.jobs.paramsOf(job.id) as { name?: string }).name === sample.name);
      note(`2/5 importing ${sample.file}…`);
      const job = interrupted !== undefined ? engine.jobs.resume(interrupted.id) : await engine.call('datasets.import', { path: samplePath(sample.file), name: sample.name, role: sample.role });
      await followJob(engine, ctx, job, `Importing ${sample.file}`);
    }

    // 3. The SAE (the sae.train job the Models page starts).
    const saeName = `demo-sae-${modelName}-L${layer}`;
    if (!(await engine.call('saes.list', {})).some((sae) => sae.name === saeName)) {
      note(`3/5 training a tied TopK SAE (${demoSae.features} features, K=${demoSae.k}) on l_out-${layer} over demo-anchor…`);
      const job = await engine.call('saes.train', { model: modelName, layer, dataset: 'demo-anchor', name: saeName, features: demoSae.features, k: demoSae.k, kAnnealFrom: 32, kAnnealSteps: 4, epochs: demoSae.epochs, batchTokens: 256, validationFraction: 0.1, seed: 1, ...(threads !== undefined ? { threads } : {}) });
      await followJob(engine, ctx, job, 'training SAE (tokens)');
    }

    // 4. Index both sets and measure coverage (the coverage.measure job of the Coverage page).
    note('4/5 indexing features of demo-anchor and demo-seed and measuring coverage…');
    const coverageJob = await engine.call('coverage.run', { model: modelName, sae: saeName, anchor: 'demo-anchor', seed: 'demo-seed', thresholds: [0, 1, 2], topMissing: 5, spansPerFeature: 2, ...(threads !== undefined ? { threads } : {}) });
    const report = (await followJob(engine, ctx, coverageJob, 'indexing (samples)')).result as CoverageReport;

    // 5. Synthesize for a few missing features (once per workspace: an earlier run is reused).
    let synthesis: SynthesisReport | null = null;
    if (synthesizeCount > 0 && (report.results[0]?.missing.length ?? 0) > 0) {
      const existing = (await engine.call('datasets.list', {})).find((dataset) => dataset.name === 'demo-synthetic');
      const earlier = existing === undefined ? null : (new SynthesisRepository(store.db).runOfDataset(existing.id)?.report ?? null);
      if (earlier !== null) synthesis = earlier;
      else {
        if (existing !== undefined) await engine.call('datasets.remove', { id: existing.id });
        note(`5/5 synthesizing instruction-following samples for ${synthesizeCount} missing features (generate, re-measure, gate)…`);
        const job = await engine.call('synthesis.run', {
          model: modelName,
          sae: saeName,
          anchor: 'demo-anchor',
          seed: 'demo-seed',
          task: 'instruction-following',
          features: `missing:${report.runId}`,
          limit: synthesizeCount,
          candidates: 2,
          contrast: 2,
          maxNewTokens: 64,
          reportThresholds: [0, 1, 2],
          name: 'demo-synthetic',
        });
        synthesis = (await followJob(engine, ctx, job, 'Synthesizing (features)')).result as SynthesisReport;
      }
    }

    if (ctx.json) {
      ctx.printJson({
        workspace: ctx.home,
        model: modelName,
        layer,
        sae: saeName,
        anchor: report.anchor,
        seed: report.seed,
        results: report.results.map(({ missing, ...rest }) => ({ ...rest, missingCount: missing.length, missing })),
        topMissing: report.topMissing,
        ...(synthesis !== null ? { synthesis: { dataset: synthesis.dataset, features: synthesis.features, accepted: synthesis.accepted.length, rejected: synthesis.rejected.length, coverage: synthesis.coverage } } : {}),
      });
      return 0;
    }
    ctx.out(`Workspace ${ctx.home}\nModel ${modelName}, SAE ${saeName} at l_out-${layer} (llama.cpp 0-based block), encode ${report.encode}`);
    ctx.out(`Anchor demo-anchor: ${report.anchor.samples} samples; seed demo-seed: ${report.seed.samples} samples\n`);
    ctx.out(
      formatTable(
        ['δ', 'anchor active', 'seed active', 'covered', 'FAC', 'FAC freq', 'FAC magnitude', 'missing'],
        report.results.map((r) => [r.threshold, r.anchorActive, r.seedActive, r.covered, percent(r.fac), percent(r.facFreq), percent(r.facMagnitude), r.missing.length]),
      ),
    );
    if (report.topMissing.length > 0) {
      ctx.out(`\nTop missing features at δ = ${report.results[0]?.threshold ?? 0} (most frequent in the anchor first):`);
      for (const feature of report.topMissing) {
        ctx.out(`  feature ${feature.feature}: ${feature.anchorSamples} anchor samples, mean ${feature.anchorMean.toFixed(3)}, max ${feature.anchorMax.toFixed(3)}`);
        for (const span of feature.spans) ctx.out(`    …${span.prefixText.replace(/\s+/g, ' ').slice(-80)}[[${span.peakText.replace(/\n/g, '\\n')}]]  (${span.value.toFixed(3)})`);
      }
    }
    if (synthesis !== null) {
      ctx.out(`\nFAC Synthesis: '${synthesis.dataset}' holds ${synthesis.accepted.length} verified samples for ${synthesis.features.length - synthesis.uncovered.length} of ${synthesis.features.length} missing features (${synthesis.rejected.length} candidates rejected).`);
      ctx.out(
        formatTable(
          ['δ', 'FAC seed', 'FAC seed ∪ synthetic', 'missing activated by synthetic'],
          synthesis.coverage.map((row) => [row.threshold, percent(row.seedFac), percent(row.combinedFac), `${row.missingActivated} of ${row.missing} (${percent(row.missingShareActivated)})`]),
        ),
      );
    }
    return 0;
  } finally {
    await engine.close();
  }
}
