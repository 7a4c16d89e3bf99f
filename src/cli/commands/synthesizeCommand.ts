import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import type { MethodParams } from '../../shared/api/contract.ts';
import { synthesisTasks, type PlainSynthesisReport, type SynthesisReport } from '../../shared/synthesisTypes.ts';
import { readFeatureList } from '../../core/coverage/readFeatureList.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';

const help = `Usage:
  facet synthesize --model M --sae S --anchor A --seed B --task T [--generator G]
                   [--features missing|missing:RUN|FILE] [--limit N] [--threshold δ]
                   [--candidates n] [--contrast m] [--keep k] [--temperature t] [--top-p p]
                   [--sampler-seed s] [--steer S[,S…]] [--no-template] [--kv f16|f32] [--name D]
                   [--task-spec FILE] [--max-new-tokens N] [--report-thresholds δ,δ…] [--relevant]
                   [--no-coherence] [--parallel N] [--layer L] [--encode topk|dense-relu] [--cpu] [--json]
  facet synthesize --baseline plain --like RUN [--count N] [--name D] [--sampler-seed s] [--cpu] [--json]

FAC Synthesis: for each feature the anchor set A activates and the seed set B does not, a local
generator writes n candidates from the feature's description and top spans; the strongest and
weakest (measured) form a contrastive pair; m more candidates are written from the pair, and a
candidate is kept only if it parses in the task's format, its re-measured activation of the target
feature is above δ, its perplexity under the unsteered generator is within the bound set from A,
and it is not a near-duplicate of an anchor, seed or accepted sample. Accepted samples form a new
dataset (role synthetic) with their lineage; FAC before and after is reported at each δ.

  --task        ${synthesisTasks.join(', ')}
                (custom: --task-spec FILE, JSON with name, describe, schema, user, assistant)
  --generator   registered local model or .gguf that writes (default: --model)
  --features    missing (default: seed vs anchor at δ, measured now), missing:<coverage run id>,
                or a file of feature ids
  --limit       at most N features (most frequent in the anchor first)
  --threshold   δ of the gate and of the missing set (default 0; activated means g > δ)
  --candidates  n, step-1 candidates per feature (default 2)
  --contrast    m, step-2 candidates per feature and steering strength (default 2)
  --keep        k, samples kept per feature at most (default 1)
  --temperature (default 0.8)   --top-p (default 0.9)   --sampler-seed (default 0)
  --steer       add the target feature's SAE decoder row at the SAE's layer during step 2, at
                these strengths (1 = the feature's largest anchor activation); 0 always runs too
  --relevant    only the missing features judged relevant to the task ('facet features judge')
  --no-coherence  skip the perplexity check (recorded with every sample)
  --name        name of the synthetic dataset (default <seed>-synthetic-<task>)
  --report-thresholds  δ values of FAC before/after (default: --threshold with 0, 0.5, 1, 2)
JSON: {"dataset", "accepted": [{feature, activation, text, record}], "rejected": [{feature, reason,
activation}], "coverage": [{threshold, seedFac, combinedFac, missingShareActivated}]}; text is
exactly the text the gate measured (the sample's turns, joined by a blank line).

Same-budget A/B (--baseline plain): writes as many samples as run RUN kept (or --count N), with
its generator, task format, sampling and gate (format, coherence bound, near-duplicates) but a
prompt that names no feature, and at most as many candidates per kept sample as RUN generated.
The new dataset (role synthetic, lineage in each sample's meta.synthesis) is indexed in RUN's
feature space; FAC of seed ∪ plain is printed next to seed ∪ guided. Compare the three sets on
every measure with 'facet report --datasets SEED,GUIDED,PLAIN'.
JSON: {"dataset", "like", "guidedDataset", "requested", "budget", "candidates", "accepted": [{text,
record}], "rejected": {reason: count}, "coverage": [{threshold, seedFac, plainFac, guidedFac,
plainMissingShareActivated, guidedMissingShareActivated}]}.`;

function number(value: string | undefined, name: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const pattern = integer ? /^\d+$/ : /^-?\d+(\.\d+)?$/;
  if (!pattern.test(value)) throw new FacetError('INVALID_ARGUMENT', `--${name} must be ${integer ? 'a whole number' : 'a number'} (got '${value}').\n\n${help}`);
  return Number(value);
}

function numberList(value: string | undefined, name: string): number[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((part) => number(part.trim(), name, false)!);
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      sae: { type: 'string' },
      anchor: { type: 'string' },
      seed: { type: 'string' },
      task: { type: 'string' },
      baseline: { type: 'string' },
      like: { type: 'string' },
      count: { type: 'string' },
      'task-spec': { type: 'string' },
      generator: { type: 'string' },
      features: { type: 'string', default: 'missing' },
      limit: { type: 'string' },
      threshold: { type: 'string' },
      candidates: { type: 'string' },
      contrast: { type: 'string' },
      keep: { type: 'string' },
      temperature: { type: 'string' },
      'top-p': { type: 'string' },
      'sampler-seed': { type: 'string' },
      steer: { type: 'string' },
      'no-template': { type: 'boolean', default: false },
      kv: { type: 'string' },
      name: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      'report-thresholds': { type: 'string' },
      relevant: { type: 'boolean', default: false },
      'no-coherence': { type: 'boolean', default: false },
      parallel: { type: 'string' },
      layer: { type: 'string' },
      encode: { type: 'string' },
      cpu: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    ctx.out(help);
    return 0;
  }
  if (values.baseline !== undefined) return runPlainBaseline(values, argv, ctx);
  if (values.like !== undefined || values.count !== undefined) throw new FacetError('INVALID_ARGUMENT', `--like and --count belong to --baseline plain.\n\n${help}`);
  for (const name of ['model', 'sae', 'anchor', 'seed', 'task'] as const) {
    if (values[name] === undefined) throw new FacetError('INVALID_ARGUMENT', `--${name} is required.\n\n${help}`);
  }
  const task = values.task!;
  if (!(synthesisTasks as readonly string[]).includes(task)) throw new FacetError('INVALID_ARGUMENT', `Unknown --task '${task}'. Use ${synthesisTasks.join(', ')}.`);
  if (values.kv !== undefined && values.kv !== 'f16' && values.kv !== 'f32') throw new FacetError('INVALID_ARGUMENT', `--kv must be f16 or f32 (got '${values.kv}').`);
  if (values.encode !== undefined && values.encode !== 'topk' && values.encode !== 'dense-relu') throw new FacetError('INVALID_ARGUMENT', `--encode must be topk or dense-relu (got '${values.encode}').`);
  let features: MethodParams<'synthesis.run'>['features'] = 'missing';
  if (values.features !== 'missing') features = /^missing:\d+$/.test(values.features) ? values.features : await readFeatureList(resolve(values.features));

  const params: MethodParams<'synthesis.run'> = {
    model: values.model!,
    sae: values.sae!,
    anchor: values.anchor!,
    seed: values.seed!,
    task: task as (typeof synthesisTasks)[number],
    features,
    template: !values['no-template'],
    relevantOnly: values.relevant,
    coherence: !values['no-coherence'],
    cpu: values.cpu,
  };
  const set = <K extends keyof MethodParams<'synthesis.run'>>(key: K, value: MethodParams<'synthesis.run'>[K] | undefined): void => {
    if (value !== undefined) params[key] = value;
  };
  set('taskSpec', values['task-spec'] === undefined ? undefined : resolve(values['task-spec']));
  set('generator', values.generator);
  set('limit', number(values.limit, 'limit', true));
  set('threshold', number(values.threshold, 'threshold', false));
  set('candidates', number(values.candidates, 'candidates', true));
  set('contrast', number(values.contrast, 'contrast', true));
  set('keep', number(values.keep, 'keep', true));
  set('temperature', number(values.temperature, 'temperature', false));
  set('topP', number(values['top-p'], 'top-p', false));
  set('samplerSeed', number(values['sampler-seed'], 'sampler-seed', true));
  set('steer', numberList(values.steer, 'steer'));
  set('kv', values.kv as 'f16' | 'f32' | undefined);
  set('name', values.name);
  set('maxNewTokens', number(values['max-new-tokens'], 'max-new-tokens', true));
  set('reportThresholds', numberList(values['report-thresholds'], 'report-thresholds'));
  set('parallel', number(values.parallel, 'parallel', true));
  set('layer', number(values.layer, 'layer', true));
  set('encode', values.encode as 'topk' | 'dense-relu' | undefined);

  const engine = openCliEngine(ctx);
  try {
    const job = await engine.call('synthesis.run', params);
    const final = await followJob(engine, ctx, job, `Synthesizing ${task} samples`);
    const report = final.result as SynthesisReport;
    if (ctx.json) {
      ctx.printJson({
        dataset: report.dataset,
        accepted: report.accepted.map((sample) => ({ feature: sample.feature, activation: sample.activation, text: sample.text, record: sample.record })),
        rejected: report.rejected.map((candidate) => ({ feature: candidate.feature, reason: candidate.reason, activation: candidate.activation })),
        coverage: report.coverage.map((row) => ({ threshold: row.threshold, seedFac: row.seedFac, combinedFac: row.combinedFac, missingShareActivated: row.missingShareActivated })),
      });
      return 0;
    }
    printReport(ctx, report);
    return 0;
  } finally {
    await engine.close();
  }
}

/** Flags --baseline plain takes; every other setting is the guided run's. */
const plainFlags = new Set(['baseline', 'like', 'count', 'name', 'sampler-seed', 'cpu', 'json', 'help', 'features']);

async function runPlainBaseline(values: Record<string, string | boolean | undefined>, argv: string[], ctx: CliContext): Promise<number> {
  if (values['baseline'] !== 'plain') throw new FacetError('INVALID_ARGUMENT', `--baseline takes 'plain' (got '${String(values['baseline'])}').`);
  if (values['like'] === undefined) throw new FacetError('INVALID_ARGUMENT', `--baseline plain needs --like RUN: the feature-guided synthesis run whose generator, task, sampling and budget it copies (run ids: the Synthesis page, or the 'run' in 'facet synthesize --json').`);
  const given = argv.filter((arg) => arg.startsWith('--')).map((arg) => arg.slice(2).split('=')[0]!);
  const foreign = given.filter((flag) => !plainFlags.has(flag));
  if (foreign.length > 0) throw new FacetError('INVALID_ARGUMENT', `With --baseline plain every setting comes from run ${String(values['like'])}; drop ${foreign.map((flag) => `--${flag}`).join(', ')}.`, { flags: foreign });
  const params: MethodParams<'synthesis.plain'> = { like: number(values['like'] as string, 'like', true)!, cpu: values['cpu'] === true };
  const count = number(values['count'] as string | undefined, 'count', true);
  if (count !== undefined) params.count = count;
  if (typeof values['name'] === 'string') params.name = values['name'];
  const seed = number(values['sampler-seed'] as string | undefined, 'sampler-seed', true);
  if (seed !== undefined) params.samplerSeed = seed;
  const engine = openCliEngine(ctx);
  try {
    const job = await engine.call('synthesis.plain', params);
    const final = await followJob(engine, ctx, job, `Plain baseline for run ${params.like}`);
    const report = final.result as PlainSynthesisReport;
    const rows = report.coverage.map((row) => {
      const guided = report.guidedCoverage.find((entry) => entry.threshold === row.threshold);
      return { threshold: row.threshold, seedFac: row.seedFac, plainFac: row.combinedFac, guidedFac: guided?.combinedFac ?? null, plainMissingShareActivated: row.missingShareActivated, guidedMissingShareActivated: guided?.missingShareActivated ?? null };
    });
    if (ctx.json) {
      ctx.printJson({
        dataset: report.dataset,
        like: report.like,
        guidedDataset: report.guidedDataset,
        requested: report.requested,
        budget: report.budget,
        candidates: report.candidates,
        accepted: report.accepted,
        rejected: report.rejected,
        coverage: rows,
      });
      return 0;
    }
    ctx.out(`Dataset '${report.dataset}' (role synthetic, plain baseline of run ${report.like}): ${report.accepted.length} of ${report.requested} samples from ${report.candidates} candidates (budget ${report.budget}) in ${report.seconds.toFixed(1)} s.`);
    const reasons = Object.entries(report.rejected);
    if (reasons.length > 0) ctx.out(`Rejected: ${reasons.map(([reason, n]) => `${reason} ${n}`).join(', ')}.`);
    ctx.out('');
    ctx.out(formatTable(['δ', 'FAC seed', `seed ∪ plain (${report.dataset})`, `seed ∪ guided (${report.guidedDataset})`, 'missing activated: plain', 'guided'], rows.map((row) => [row.threshold, percent(row.seedFac), percent(row.plainFac), percent(row.guidedFac), percent(row.plainMissingShareActivated), percent(row.guidedMissingShareActivated)])));
    ctx.out(`\nEvery measure side by side: facet report --datasets ${report.seed},${report.guidedDataset},${report.dataset} --anchor ${report.anchor} (with the run's --model and --sae).`);
    return 0;
  } finally {
    await engine.close();
  }
}

const percent = (value: number | null): string => (value === null ? '—' : `${(value * 100).toFixed(2)}%`);

function printReport(ctx: CliContext, report: SynthesisReport): void {
  ctx.out(`Dataset '${report.dataset}' (role synthetic): ${report.accepted.length} samples for ${report.features.length - report.uncovered.length} of ${report.features.length} features; ${report.candidates} candidates, ${report.rejected.length} rejected, in ${report.seconds.toFixed(1)} s (verification ${report.gateSeconds.toFixed(1)} s).`);
  ctx.out(`Coherence bound: perplexity ≤ ${report.coherence.bound === null ? '— (off)' : report.coherence.bound.toFixed(2)} (${report.coherence.quantile} quantile of ${report.coherence.anchorSamples} anchor samples × ${report.coherence.slack}).`);
  ctx.out('');
  ctx.out(formatTable(['δ', 'FAC seed', 'FAC seed ∪ synthetic', 'missing activated by synthetic'], report.coverage.map((row) => [row.threshold, percent(row.seedFac), percent(row.combinedFac), `${row.missingActivated} of ${row.missing} (${percent(row.missingShareActivated)})`])));
  if (report.steering.length > 1) {
    ctx.out('');
    ctx.out(formatTable(['steering', 'candidates', 'passed gate', 'acceptance', 'mean perplexity'], report.steering.map((row) => [row.strength, row.candidates, row.passed, percent(row.acceptance), row.meanPerplexity === null ? '—' : row.meanPerplexity.toFixed(2)])));
  }
  const reasons = new Map<string, number>();
  for (const candidate of report.rejected) reasons.set(candidate.reason, (reasons.get(candidate.reason) ?? 0) + 1);
  if (reasons.size > 0) ctx.out(`\nRejected: ${[...reasons].map(([reason, count]) => `${reason} ${count}`).join(', ')}.`);
  if (report.accepted.length > 0) {
    ctx.out('');
    ctx.out(formatTable(['feature', 'activation', 'text'], report.accepted.slice(0, 20).map((sample) => [sample.feature, sample.activation.toFixed(3), sample.text.replace(/\s+/g, ' ').slice(0, 90)])));
  }
  ctx.out(`\nExport it with 'facet datasets export ${report.dataset} --out DIR'.`);
}
