import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import type { ProbeReport } from '../../core/evaluate/runProbe.ts';
import type { CliContext } from '../CliContext.ts';
import { formatTable } from '../formatTable.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';

const help = `Usage:
  facet probe classify --model M --train D [--train D2 …] --eval E [--label-field label] [--epochs 15]
                       [--lr 0.01] [--l2 0.001] [--seeds 0,1,2] [--no-template] [--max-tokens 512] [--cpu] [--json]
  facet probe reward   --model M --train PAIRS [--train PAIRS2 …] --eval PAIRS [same options]

The paper's head-only setting: the model stays frozen; a linear head is trained on the final hidden
state of the last token (the residual after the last block through the final norm; chat template
applied unless --no-template). classify: logistic regression on 0/1 labels, reporting AUPRC, AUROC
and accuracy on E. reward: a Bradley–Terry head (loss −log σ(r_chosen − r_rejected)) on preference
pairs, reporting pairwise accuracy. Each --train is one training configuration (join datasets with
commas: --train seed --train seed,synthetic compares them side by side); every configuration runs
with each seed (mean ± std). JSON: {"auprc", "auroc", "accuracy", "scores":[{"text", "label", "score"}],
"runs":[…]} where the top-level numbers and scores are the first configuration at the first seed.`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const [kind, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      model: { type: 'string' },
      train: { type: 'string', multiple: true },
      eval: { type: 'string' },
      'label-field': { type: 'string', default: 'label' },
      epochs: { type: 'string', default: '15' },
      lr: { type: 'string', default: '0.01' },
      l2: { type: 'string', default: '0.001' },
      seeds: { type: 'string', default: '0,1,2' },
      'no-template': { type: 'boolean', default: false },
      'max-tokens': { type: 'string', default: '512' },
      threads: { type: 'string' },
      cpu: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help || kind === undefined || kind === '--help' || kind === '-h') {
    ctx.out(help);
    return kind === undefined ? 1 : 0;
  }
  if (kind !== 'classify' && kind !== 'reward') throw new FacetError('INVALID_ARGUMENT', `Unknown probe '${kind}': use 'facet probe classify' or 'facet probe reward'.`);
  if (values.model === undefined || values.eval === undefined || values.train === undefined) throw new FacetError('INVALID_ARGUMENT', `--model, --train and --eval are required. See 'facet probe --help'.`);
  const number = (value: string, name: string, min: number, integer: boolean): number => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min || (integer && !Number.isInteger(parsed))) throw new FacetError('INVALID_ARGUMENT', `--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min} (got '${value}').`);
    return parsed;
  };
  const seeds = values.seeds.split(',').map((part) => number(part.trim(), 'seeds', 0, true));
  const engine = openCliEngine(ctx);
  try {
    const job = await engine.call('evaluate.probe', {
      kind,
      model: values.model,
      train: values.train.map((set) => set.split(',').map((name) => name.trim()).filter((name) => name !== '')),
      eval: values.eval,
      labelField: values['label-field'],
      epochs: number(values.epochs, 'epochs', 1, true),
      learningRate: number(values.lr, 'lr', 0, false),
      l2: number(values.l2, 'l2', 0, false),
      seeds,
      template: !values['no-template'],
      maxTokens: number(values['max-tokens'], 'max-tokens', 2, true),
      cpu: values.cpu,
      ...(values.threads !== undefined ? { threads: number(values.threads, 'threads', 1, true) } : {}),
    });
    const final = await followJob(engine, ctx, job, `${kind} probe`);
    const report = final.result as ProbeReport;
    if (ctx.json) {
      ctx.printJson(report);
      return 0;
    }
    const show = (value: { mean: number; std: number } | null): string => (value === null ? '—' : `${value.mean.toFixed(4)} ± ${value.std.toFixed(4)}`);
    ctx.out(`${kind === 'classify' ? 'Classification' : 'Reward'} probe on ${report.model}, eval ${report.eval} (${report.evalSamples} ${kind === 'classify' ? 'samples' : 'pairs'}); seeds ${report.settings.seeds.join(', ')}.`);
    ctx.out(formatTable(['training set', 'samples', ...(kind === 'classify' ? ['AUPRC', 'AUROC'] : []), kind === 'classify' ? 'accuracy' : 'pairwise accuracy'], report.runs.map((runEntry) => [runEntry.train.join(' + '), runEntry.trainSamples, ...(kind === 'classify' ? [show(runEntry.auprc), show(runEntry.auroc)] : []), show(runEntry.accuracy)])));
    ctx.out(`Features: ${report.settings.features}.`);
    return 0;
  } finally {
    await engine.close();
  }
}
