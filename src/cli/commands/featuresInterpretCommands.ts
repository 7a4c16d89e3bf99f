import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import type { MethodParams } from '../../shared/api/contract.ts';
import type { ExplainReport, JudgeReport } from '../../shared/interpretationTypes.ts';
import { builtInTasks } from '../../shared/interpretationTypes.ts';
import { readFeatureList } from '../../core/coverage/readFeatureList.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';
import { integerOption } from '../integerOption.ts';

export const interpretHelp = `  facet features explain --model M --sae S [--explainer MODEL | --endpoint URL --endpoint-model NAME [--endpoint-key-env VAR]]
                         [--features anchor|missing:RUN|FILE] [--limit N] [--candidates 3] [--parallel 8]
                         [--layer L] [--encode topk|dense-relu] [--no-template] [--kv f16|f32] [--seed S] [--cpu]
  facet features judge --model M --sae S --task ${builtInTasks.join('|')}|FILE
                       [--judge MODEL | --endpoint URL --endpoint-model NAME [--endpoint-key-env VAR]]
                       [--features …] [--limit N] [--parallel 8] [same space options as explain]
  facet features search "<words>" [--space ID] [--limit N]

explain: each feature (by default those the anchor set activates, most frequent first) gets
--candidates explanations written by a local model (the space's own model unless --explainer)
from its top 10 excerpts plus excerpts across its activation range; each is scored by detection
(balanced accuracy at telling held-out activating excerpts from non-activating ones), the best is
kept and verified (Yes/Probably/Maybe/No). judge: a verdict per feature on the task's rubric
(relevant = Yes, Probably or Maybe), which 'facet coverage --task' uses as F. A rubric FILE is
plain text (task named after the file) or JSON {"task": "name", "rubric": "…"}. Both skip what is
stored and resume after a kill ('facet jobs resume'). With --endpoint (an OpenAI-compatible /v1
base URL; the key is read from the environment variable --endpoint-key-env), excerpts and prompts
leave this machine.`;

const interpretOptions = {
  model: { type: 'string' },
  sae: { type: 'string' },
  layer: { type: 'string' },
  encode: { type: 'string' },
  'no-template': { type: 'boolean', default: false },
  kv: { type: 'string' },
  cpu: { type: 'boolean', default: false },
  explainer: { type: 'string' },
  judge: { type: 'string' },
  task: { type: 'string' },
  endpoint: { type: 'string' },
  'endpoint-model': { type: 'string' },
  'endpoint-key-env': { type: 'string' },
  features: { type: 'string', default: 'anchor' },
  limit: { type: 'string' },
  candidates: { type: 'string', default: '3' },
  parallel: { type: 'string', default: '8' },
  seed: { type: 'string', default: '0' },
  space: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;


type Values = ReturnType<typeof parseInterpretArgs>['values'];

function parseInterpretArgs(args: string[]) {
  return parseArgs({ args, options: interpretOptions, allowPositionals: true, strict: true });
}

/** The options explain and judge share, as API parameters. */
async function sharedParams(values: Values): Promise<MethodParams<'features.explain'>> {
  for (const name of ['model', 'sae'] as const) if (values[name] === undefined) throw new FacetError('INVALID_ARGUMENT', `--${name} is required (the feature space: the model and SAE it was indexed with).`);
  if (values.encode !== undefined && values.encode !== 'topk' && values.encode !== 'dense-relu') throw new FacetError('INVALID_ARGUMENT', `--encode must be topk or dense-relu (got '${values.encode}').`);
  if (values.kv !== undefined && values.kv !== 'f16' && values.kv !== 'f32') throw new FacetError('INVALID_ARGUMENT', `--kv must be f16 or f32 (got '${values.kv}').`);
  if ((values.endpoint === undefined) !== (values['endpoint-model'] === undefined)) throw new FacetError('INVALID_ARGUMENT', '--endpoint and --endpoint-model go together: the base URL of an OpenAI-compatible API and the model name it serves.');
  const features = values.features === 'anchor' || /^missing:\d+$/.test(values.features) ? values.features : await readFeatureList(resolve(values.features));
  const layer = integerOption(values.layer, 'layer', 0);
  const limit = integerOption(values.limit, 'limit', 1);
  return {
    model: values.model!,
    sae: values.sae!,
    template: !values['no-template'],
    cpu: values.cpu,
    features: features as MethodParams<'features.explain'>['features'],
    parallel: integerOption(values.parallel, 'parallel', 1)!,
    seed: integerOption(values.seed, 'seed', 0)!,
    ...(layer === undefined ? {} : { layer }),
    ...(limit === undefined ? {} : { limit }),
    ...(values.encode === undefined ? {} : { encode: values.encode as 'topk' | 'dense-relu' }),
    ...(values.kv === undefined ? {} : { kv: values.kv as 'f16' | 'f32' }),
    ...(values.endpoint === undefined ? {} : { endpoint: { baseUrl: values.endpoint, model: values['endpoint-model']!, ...(values['endpoint-key-env'] === undefined ? {} : { keyVariable: values['endpoint-key-env'] }) } }),
  };
}

function warnEndpoint(ctx: CliContext, values: Values): void {
  if (values.endpoint !== undefined) ctx.err(`Note: texts leave this machine: feature excerpts and prompts are sent to ${values['endpoint-model']} at ${values.endpoint}.`);
}

export async function runExplain(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseInterpretArgs(args);
  if (values.help) {
    ctx.out(`Usage:\n${interpretHelp}`);
    return 0;
  }
  for (const name of ['judge', 'task'] as const) if (values[name] !== undefined) throw new FacetError('INVALID_ARGUMENT', `--${name} belongs to 'facet features judge', not explain.`);
  const params = { ...(await sharedParams(values)), candidates: integerOption(values.candidates, 'candidates', 1)!, ...(values.explainer === undefined ? {} : { explainer: values.explainer }) };
  if (params.endpoint !== undefined && values.explainer !== undefined) throw new FacetError('INVALID_ARGUMENT', 'Give either --explainer (a local model) or --endpoint, not both.');
  warnEndpoint(ctx, values);
  const engine = openCliEngine(ctx);
  try {
    const job = await engine.call('features.explain', params);
    const final = await followJob(engine, ctx, job, 'Explaining features');
    const report = final.result as ExplainReport;
    if (ctx.json) {
      ctx.printJson({ space: report.spaceId, explainer: report.explainer, explained: report.explained.map(({ feature, explanation, score, verification }) => ({ feature, explanation, score, verification })), skipped: report.skipped });
      return 0;
    }
    ctx.out(`Feature space ${report.spaceId}, explained by ${report.explainer}: ${report.explained.length} features (${report.skipped} already explained) in ${report.seconds.toFixed(1)} s.`);
    ctx.out(formatTable(['feature', 'score', 'verified', 'explanation'], report.explained.map((row) => [row.feature, row.score === null ? '—' : row.score.toFixed(2), row.verification ?? '—', row.canTell ? row.explanation : '(cannot tell)'])));
    return 0;
  } finally {
    await engine.close();
  }
}

export async function runJudge(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseInterpretArgs(args);
  if (values.help) {
    ctx.out(`Usage:\n${interpretHelp}`);
    return 0;
  }
  if (values.task === undefined) throw new FacetError('INVALID_ARGUMENT', `--task is required: ${builtInTasks.join(', ')}, or a rubric file.`);
  if (values.explainer !== undefined) throw new FacetError('INVALID_ARGUMENT', "--explainer belongs to 'facet features explain'; the judging model is --judge.");
  const shared = await sharedParams(values);
  if (shared.endpoint !== undefined && values.judge !== undefined) throw new FacetError('INVALID_ARGUMENT', 'Give either --judge (a local model) or --endpoint, not both.');
  const task = (builtInTasks as readonly string[]).includes(values.task) ? values.task : resolve(values.task);
  const params: MethodParams<'features.judge'> = { ...shared, task, ...(values.judge === undefined ? {} : { judge: values.judge }) };
  warnEndpoint(ctx, values);
  const engine = openCliEngine(ctx);
  try {
    const job = await engine.call('features.judge', params);
    const final = await followJob(engine, ctx, job, `Judging features for ${values.task}`);
    const report = final.result as JudgeReport;
    if (ctx.json) {
      ctx.printJson({ task: report.task, space: report.spaceId, judge: report.judge, verdicts: report.verdicts, skipped: report.skipped, ...(report.unanswered ? { unanswered: report.unanswered } : {}) });
      return 0;
    }
    const relevant = report.verdicts.filter((verdict) => verdict.verdict !== 'No').length;
    ctx.out(`Task ${report.task}, feature space ${report.spaceId}, judged by ${report.judge}: ${relevant} of ${report.verdicts.length} features relevant (${report.skipped} judged before).`);
    if (report.unanswered && report.unanswered.length > 0) ctx.out(`No verdict for ${report.unanswered.length} features (no excerpts, or answers that did not parse twice): ${report.unanswered.slice(0, 20).join(', ')}${report.unanswered.length > 20 ? ', …' : ''}`);
    ctx.out(formatTable(['feature', 'verdict', 'analysis'], report.verdicts.map((row) => [row.feature, row.verdict, row.analysis.replace(/\s+/g, ' ').slice(0, 100)])));
    return 0;
  } finally {
    await engine.close();
  }
}

export async function runSearch(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseInterpretArgs(args);
  if (values.help) {
    ctx.out(`Usage:\n${interpretHelp}`);
    return 0;
  }
  const query = positionals.join(' ').trim();
  if (query === '') throw new FacetError('INVALID_ARGUMENT', 'Give the words to search for: facet features search "<words>".');
  const spaceId = integerOption(values.space, 'space', 1);
  const engine = openCliEngine(ctx);
  try {
    const rows = await engine.call('features.search', { query, limit: integerOption(values.limit, 'limit', 1) ?? 20, ...(spaceId === undefined ? {} : { spaceId }) });
    if (ctx.json) {
      ctx.printJson(rows);
      return 0;
    }
    if (rows.length === 0) {
      ctx.out(`No explanation mentions "${query}".`);
      return 0;
    }
    ctx.out(formatTable(['space', 'feature', 'score', 'explanation'], rows.map((row) => [row.spaceId, row.feature, row.score === null ? '—' : row.score.toFixed(2), row.explanation])));
    return 0;
  } finally {
    await engine.close();
  }
}
