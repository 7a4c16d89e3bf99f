import { parseArgs } from 'node:util';
import { FacetError } from '../../../shared/FacetError.ts';
import type { SaeCheckResult } from '../../../core/sae/quality/runSaeCheck.ts';
import type { CliContext } from '../../CliContext.ts';
import { openCliEngine } from '../../openCliEngine.ts';
import { followJob } from '../../runEngineJob.ts';
import { parseLayer, parsePositiveInteger } from './saeCliSupport.ts';

export const usage = `facet sae check --sae S --model M --dataset D [--layer L] [--tokens 16384] [--max-tokens 512]
                 [--no-template] [--threads N] [--cpu-model]

Runs SAE S over the residual stream of model M (l_out-L; defaults to the SAE's recorded layer) on
dataset D (registered or a file; chat template on, tokens after the template prefix) and reports
L0 (active features per token), normalised MSE (mean ‖x − x̂‖²/‖x‖²), fraction of variance
unexplained (Σ‖x − x̂‖² / Σ‖x − mean‖²), dead and always-on (≥ 90% of tokens) features, with
warnings and likely causes when the SAE does not fit (d_in or layer mismatch, base vs instruct
model, quantisation drift). Exit code 1 when a warning is an error (the SAE cannot be used).
Runs as a 'sae.check' job of the workspace ('facet jobs list' and the Jobs page of a 'facet serve'
on it follow it).`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sae: { type: 'string' },
      model: { type: 'string' },
      dataset: { type: 'string' },
      layer: { type: 'string' },
      tokens: { type: 'string' },
      'max-tokens': { type: 'string' },
      'no-template': { type: 'boolean', default: false },
      threads: { type: 'string' },
      'cpu-model': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.sae === undefined || values.model === undefined || values.dataset === undefined) {
    throw new FacetError('INVALID_ARGUMENT', `--sae, --model and --dataset are required.\nUsage: ${usage}`);
  }
  const maxTokens = parsePositiveInteger(values.tokens, 'tokens', 16_384);
  const engine = openCliEngine(ctx);
  let result: SaeCheckResult;
  try {
    const job = await engine.call('saes.check', {
      sae: values.sae,
      model: values.model,
      dataset: values.dataset,
      ...(values.layer !== undefined ? { layer: parseLayer(values.layer) } : {}),
      maxTokens,
      maxSampleTokens: parsePositiveInteger(values['max-tokens'], 'max-tokens', 512),
      template: !values['no-template'],
      ...(values.threads !== undefined ? { threads: parsePositiveInteger(values.threads, 'threads', 1) } : {}),
      cpuModel: values['cpu-model'],
    });
    result = (await followJob(engine, ctx, job, 'checking SAE (tokens)')).result as SaeCheckResult;
  } finally {
    await engine.close();
  }
  const failed = result.warnings.some((warning) => warning.severity === 'error');
  if (ctx.json) {
    ctx.printJson({ sae: result.sae.name, model: result.model, dataset: result.dataset, layer: result.layer, metrics: result.metrics, warnings: result.warnings });
    return failed ? 1 : 0;
  }
  const lines = [`SAE '${result.sae.name}' on ${result.model.name} l_out-${result.layer} over ${result.dataset}`];
  const m = result.metrics;
  if (m !== null) {
    lines.push(
      `  tokens                 ${m.tokens}`,
      `  L0                     ${m.l0.toFixed(2)}${result.sae.k !== null ? ` (K = ${result.sae.k})` : ''}`,
      `  normalised MSE         ${m.normalisedMse.toFixed(4)}`,
      `  FVU                    ${m.fractionOfVarianceUnexplained.toFixed(4)}`,
      `  dead features          ${m.deadFeatures} of ${result.sae.dSae} (${((100 * m.deadFeatures) / result.sae.dSae).toFixed(1)}%)`,
      `  always-on features     ${m.alwaysOnFeatures}${m.alwaysOnFeatures > 0 ? ` (e.g. ${m.alwaysOnExamples.slice(0, 10).join(', ')})` : ''}`,
    );
  }
  if (result.warnings.length === 0) lines.push('  fit: no warnings');
  for (const warning of result.warnings) lines.push(`  ${warning.severity.toUpperCase()} ${warning.code}: ${warning.message}`);
  ctx.out(lines.join('\n'));
  return failed ? 1 : 0;
}
