import { parseArgs } from 'node:util';
import { FacetError } from '../../../shared/FacetError.ts';
import type { SaeDriftReport } from '../../../shared/evaluateTypes.ts';
import type { CliContext } from '../../CliContext.ts';
import { formatTable } from '../../formatTable.ts';
import { openCliEngine } from '../../openCliEngine.ts';
import { followJob } from '../../runEngineJob.ts';
import { integerOption } from '../../integerOption.ts';

export const usage = `facet sae drift --sae S --models F16,Q8,Q4 --dataset D [--threshold 0] [--layer L] [--tokens 16384] [--no-template] [--cpu] [--json]
  The SAE's fit (normalised MSE, FVU, L0, dead features), FAC against the first model's active
  features and the mean Jaccard overlap of each sample's active set with the first model's, per
  model variant (e.g. quantized copies made with 'facet models quantize'). The first is the reference.`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sae: { type: 'string' },
      models: { type: 'string' },
      dataset: { type: 'string' },
      threshold: { type: 'string', default: '0' },
      layer: { type: 'string' },
      tokens: { type: 'string', default: '16384' },
      'no-template': { type: 'boolean', default: false },
      threads: { type: 'string' },
      cpu: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.sae === undefined || values.models === undefined || values.dataset === undefined) throw new FacetError('INVALID_ARGUMENT', `--sae, --models and --dataset are required.\n\nUsage: ${usage}`);
  const models = values.models.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const threshold = Number(values.threshold);
  if (!Number.isFinite(threshold) || threshold < 0) throw new FacetError('INVALID_ARGUMENT', `--threshold must be a number ≥ 0 (got '${values.threshold}').`);
  const layer = integerOption(values.layer, 'layer', 0);
  const threads = integerOption(values.threads, 'threads', 1);
  const engine = openCliEngine(ctx);
  try {
    const job = await engine.call('evaluate.drift', {
      sae: values.sae,
      models,
      dataset: values.dataset,
      threshold,
      tokens: integerOption(values.tokens, 'tokens', 16)!,
      template: !values['no-template'],
      cpu: values.cpu,
      ...(layer !== undefined ? { layer } : {}),
      ...(threads !== undefined ? { threads } : {}),
    });
    const report = (await followJob(engine, ctx, job, 'SAE drift')).result as SaeDriftReport;
    if (ctx.json) {
      ctx.printJson(report);
      return 0;
    }
    const show = (value: number | null, digits = 4): string => (value === null ? '—' : value.toFixed(digits));
    ctx.out(`SAE ${report.sae} on ${report.dataset}, active = g > ${report.threshold}; reference: ${report.variants[0]!.model}.`);
    ctx.out(formatTable(['model', 'quantization', 'norm. MSE', 'FVU', 'L0', 'dead', 'active', 'FAC vs ref', 'mean Jaccard'], report.variants.map((v) => [v.model, v.quantization ?? '—', show(v.normalisedMse), show(v.fractionOfVarianceUnexplained), show(v.l0, 2), v.deadFeatures, v.activeFeatures, show(v.facAgainstReference), show(v.meanJaccard)])));
    return 0;
  } finally {
    await engine.close();
  }
}
