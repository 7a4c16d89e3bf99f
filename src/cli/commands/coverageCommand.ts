import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import type { CoverageAtThreshold } from '../../core/coverage/computeCoverage.ts';
import type { CoverageReport, CoverageRequest } from '../../core/coverage/measureCoverage.ts';
import { readFeatureList } from '../../core/coverage/readFeatureList.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';

const help = `Usage:
  facet coverage export RUN [--format csv|json] [--out FILE]
  facet coverage delete RUN
  facet coverage --model M --sae S --anchor A --seed B [--eval C] [--threshold 0,1,2]
                 [--features all|FILE] [--encode topk|dense-relu] [--no-template] [--kv f16|f32]
                 [--threads N] [--layer L] [--max-tokens N] [--min-activation X] [--cpu] [--top N]
                 [--task toxicity|helpfulness|sycophancy|survival-instinct|instruction-following|NAME] [--json]

Feature Activation Coverage of the seed set B against the anchor set A in the SAE's feature space.
'export' writes a saved run (ids in the Coverage page's run list) as CSV (one row per δ) or as
the stored JSON, to FILE or stdout; 'delete' removes a saved run (indexes and datasets stay).

Runs as a 'coverage.measure' job of the workspace, the same job the Coverage page starts ('facet
jobs list' and the Jobs page of a 'facet serve' on the same workspace show it live; Ctrl-C cancels
it). Datasets not yet indexed for this model, layer, SAE and encode mode are indexed first, inside
the job; a killed run resumes its indexes when run again.

  --model       registered model name or .gguf path
  --sae         registered SAE (name, id or hash prefix); its layer is used unless --layer is given
  --anchor/--seed/--eval   registered datasets (name or id)
  --threshold   δ values, comma-separated (default 0); a feature is active when g_i > δ (strictly)
  --features    'all' (default) or a file of feature ids (JSON array or whitespace/comma separated)
  --encode      TopK SAEs: topk (the paper, default) or dense-relu (ReLU over all features)
  --no-template capture the raw text instead of the model's chat template
  --kv          KV cache type for the capture (f16 default; f32 is exact and slower)
  --layer       llama.cpp 0-based l_out index (the paper's "layer 16" is 15)
  --threads     threads for llama.cpp and for onnxruntime each (default: the physical cores split
                between them, since capture and encoding run at the same time)
  --max-tokens  tokens per templated sample (default 512, the paper's truncation)
  --cpu         run model and SAE on the CPU even where a GPU is available
  --min-activation  store only g_i > X in the index (default 0: every positive one; raise it for
                dense-relu on large SAEs, where nearly every feature is positive); δ must be ≥ X
  --top         missing features listed with spans (default 10)
  --task        F = the features judged relevant to this task ('facet features judge --task …'; a
                custom rubric's task name works too); anchor-active features not judged yet are
                left out of F and counted
JSON: one δ → one object {threshold, anchorActive, seedActive, covered, fac, facFreq,
facMagnitude, missing, …}; several δ → an array of them. With --eval each object also has
evalActive, evalFac, missingActivatedByEval and missingShareActivatedByEval. With --task each
object also has task, relevantFeatures (|F|) and unjudgedFeatures.`;

function positiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new FacetError('INVALID_ARGUMENT', `--${name} must be a positive integer (got '${value}').\n\n${help}`);
  return Number(value);
}

const percent = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : `${(value * 100).toFixed(2)}%`);

function runId(value: string | undefined, command: string): number {
  if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1) throw new FacetError('INVALID_ARGUMENT', `facet coverage ${command} takes a run id, a positive integer (got '${value ?? ''}').\n\n${help}`);
  return Number(value);
}

async function exportRun(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { format: { type: 'string', default: 'csv' }, out: { type: 'string' } }, allowPositionals: true, strict: true });
  const id = runId(positionals[0], 'export');
  if (values.format !== 'csv' && values.format !== 'json') throw new FacetError('INVALID_ARGUMENT', `--format must be csv or json (got '${values.format}').`);
  const engine = openCliEngine(ctx);
  try {
    const file = await engine.call('coverage.export', { id, format: values.format });
    if (values.out === undefined) {
      process.stdout.write(file.content);
      return 0;
    }
    const path = resolve(values.out);
    await writeFile(path, file.content);
    if (ctx.json) ctx.printJson({ id, format: values.format, path, bytes: Buffer.byteLength(file.content) });
    else ctx.out(`Wrote coverage run ${id} as ${values.format.toUpperCase()} to ${path}.`);
    return 0;
  } finally {
    await engine.close();
  }
}

async function deleteRun(argv: string[], ctx: CliContext): Promise<number> {
  const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true, strict: true });
  const id = runId(positionals[0], 'delete');
  const engine = openCliEngine(ctx);
  try {
    await engine.call('coverage.delete', { id });
    if (ctx.json) ctx.printJson({ deleted: id });
    else ctx.out(`Deleted coverage run ${id}.`);
    return 0;
  } finally {
    await engine.close();
  }
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === 'export') return exportRun(argv.slice(1), ctx);
  if (argv[0] === 'delete') return deleteRun(argv.slice(1), ctx);
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      sae: { type: 'string' },
      anchor: { type: 'string' },
      seed: { type: 'string' },
      eval: { type: 'string' },
      threshold: { type: 'string', default: '0' },
      features: { type: 'string', default: 'all' },
      task: { type: 'string' },
      encode: { type: 'string' },
      'no-template': { type: 'boolean', default: false },
      kv: { type: 'string', default: 'f16' },
      threads: { type: 'string' },
      layer: { type: 'string' },
      'max-tokens': { type: 'string' },
      'min-activation': { type: 'string' },
      cpu: { type: 'boolean', default: false },
      top: { type: 'string', default: '10' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    ctx.out(help);
    return 0;
  }
  for (const name of ['model', 'sae', 'anchor', 'seed'] as const) {
    if (values[name] === undefined) throw new FacetError('INVALID_ARGUMENT', `--${name} is required.\n\n${help}`);
  }
  const thresholds = values.threshold.split(',').map((part) => part.trim());
  for (const part of thresholds) {
    if (!/^\d+(\.\d+)?$/.test(part)) throw new FacetError('INVALID_ARGUMENT', `--threshold takes numbers ≥ 0 separated by commas (got '${values.threshold}').`);
  }
  if (values.encode !== undefined && values.encode !== 'topk' && values.encode !== 'dense-relu') throw new FacetError('INVALID_ARGUMENT', `--encode must be topk or dense-relu (got '${values.encode}').`);
  if (values.kv !== 'f16' && values.kv !== 'f32') throw new FacetError('INVALID_ARGUMENT', `--kv must be f16 or f32 (got '${values.kv}').`);
  if (values.layer !== undefined && !/^\d+$/.test(values.layer)) throw new FacetError('LAYER_OUT_OF_RANGE', `--layer must be a 0-based block index (got '${values.layer}').`);
  const threads = positiveInteger(values.threads, 'threads');
  const maxTokens = positiveInteger(values['max-tokens'], 'max-tokens');
  const top = positiveInteger(values.top, 'top') ?? 10;

  const request: CoverageRequest = {
    model: values.model!,
    sae: values.sae!,
    anchor: values.anchor!,
    seed: values.seed!,
    thresholds: thresholds.map(Number),
    template: !values['no-template'],
    kv: values.kv,
    topMissing: top,
  };
  if (values.eval !== undefined) request.eval = values.eval;
  if (values.encode !== undefined) request.encode = values.encode;
  if (values.layer !== undefined) request.layer = Number(values.layer);
  if (threads !== undefined) request.threads = threads;
  if (maxTokens !== undefined) request.maxTokens = maxTokens;
  if (values.cpu) request.cpu = true;
  if (values['min-activation'] !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(values['min-activation'])) throw new FacetError('INVALID_ARGUMENT', `--min-activation must be a number ≥ 0 (got '${values['min-activation']}').`);
    request.minActivation = Number(values['min-activation']);
  }
  if (values.features !== 'all') request.features = await readFeatureList(resolve(values.features));
  if (values.task !== undefined) request.task = values.task;

  const engine = openCliEngine(ctx);
  try {
    const { features, ...rest } = request;
    const job = await engine.call('coverage.run', { ...rest, ...(features !== undefined && features !== null ? { features } : {}) });
    const report = (await followJob(engine, ctx, job, 'Coverage (samples indexed, then the computation)')).result as CoverageReport;
    for (const warning of report.warnings ?? []) ctx.err(`warning [${warning.code}]: ${warning.message}`);
    if (ctx.json) {
      const relevance = report.task === undefined ? {} : { task: report.task, relevantFeatures: report.relevantFeatures, unjudgedFeatures: report.unjudgedFeatures };
      const results = report.results.map((result) => ({ ...result, ...relevance }));
      ctx.printJson(results.length === 1 ? results[0] : results);
      return 0;
    }
    if (report.task !== undefined) {
      ctx.out(`F = ${report.relevantFeatures} features judged relevant to '${report.task}'.`);
      if ((report.unjudgedFeatures ?? 0) > 0) {
        ctx.out(`${report.unjudgedFeatures} features the anchor set activates have no verdict for '${report.task}' yet and are not in F; judge them with: facet features judge --model ${request.model} --sae ${request.sae} --task ${report.task}`);
      }
    }
    printReport(ctx, report.results, report);
    return 0;
  } finally {
    await engine.close();
  }
}

function printReport(ctx: CliContext, results: CoverageAtThreshold[], report: CoverageReport): void {
  const withEval = report.eval !== undefined;
  ctx.out(`Coverage of ${report.seed.dataset} (${report.seed.samples} samples) against ${report.anchor.dataset} (${report.anchor.samples}) — ${report.model}, SAE ${report.sae}, l_out-${report.layer}, encode ${report.encode}${report.template ? '' : ', no template'}, ${report.featureCount} features in F`);
  for (const entry of report.indexing) ctx.out(`  indexed ${entry.dataset}: ${entry.samples} samples in ${entry.seconds.toFixed(1)} s${entry.resumedFrom > 0 ? ` (resumed at ${entry.resumedFrom})` : ''}`);
  ctx.out('');
  const headers = ['δ', '|F(P)|', '|F(seed)|', 'covered', 'FAC', 'FAC_freq', 'FAC_magnitude', 'missing', ...(withEval ? [`missing hit by ${report.eval!.dataset}`] : [])];
  ctx.out(
    formatTable(
      headers,
      results.map((r) => [r.threshold, r.anchorActive, r.seedActive, r.covered, percent(r.fac), percent(r.facFreq), percent(r.facMagnitude), r.missing.length, ...(withEval ? [`${r.missingActivatedByEval} (${percent(r.missingShareActivatedByEval)})`] : [])]),
    ),
  );
  if (report.topMissing.length === 0) return;
  ctx.out(`\nTop missing features at δ = ${results[0]!.threshold} (most frequent in the anchor set first):`);
  ctx.out(
    formatTable(
      ['feature', 'anchor samples', 'mean', 'max', 'best span  (…text [peak token])'],
      report.topMissing.map((m) => {
        const span = m.spans[0];
        const text = span === undefined ? '' : `${span.prefixText}[${span.peakText}]`.replace(/\s+/g, ' ').slice(-90);
        return [m.feature, m.anchorSamples, m.anchorMean.toFixed(3), m.anchorMax.toFixed(3), text];
      }),
    ),
  );
}
