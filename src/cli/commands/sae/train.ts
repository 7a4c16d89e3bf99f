import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FacetError } from '../../../shared/FacetError.ts';
import type { SaeTrainingParams, SaeTrainingSummary } from '../../../core/sae/training/runSaeTraining.ts';
import type { TrainingDevice } from '../../../core/sae/training/TiedTopKStepSession.ts';
import type { CliContext } from '../../CliContext.ts';
import { openCliEngine } from '../../openCliEngine.ts';
import { followJob } from '../../runEngineJob.ts';
import { parseLayer, parsePositiveInteger, recordSummary } from './saeCliSupport.ts';

export const usage = `facet sae train --model M --layer L --dataset D [--name N] [--features 65536] [--k 20] [--tied]
                 [--epochs 3] [--lr 1e-3] [--batch-tokens 4096] [--k-anneal-from K0 [--k-anneal-steps 625]]
                 [--validation-fraction 0.05] [--seed 0] [--max-tokens 512] [--no-template]
                 [--threads N] [--device auto|cpu|cuda] [--cpu-model] [--checkpoint-every 300] [--fresh]
                 [--pth TopK20_l16_h65536.pth]

Trains a tied TopK SAE with the paper's recipe (W_dec = W_encᵀ, b_dec initialised at the data mean,
loss mean ‖x − x̂‖²/‖x‖², Adam, optional K annealing from K0 down to K) on the residual stream
l_out-L (llama.cpp 0-based block index) of model M over dataset D (a registered dataset or a file;
each sample in the chat template, tokens after the template prefix, at most --max-tokens each).
Activations stream from the model and are never all held in memory. Runs as a 'sae.train' job
of the workspace, the job the Models page starts ('facet jobs list' and the Jobs page of a 'facet
serve' on the same workspace show it live; Ctrl-C cancels it). Checkpoints go to the
workspace every --checkpoint-every seconds and on Ctrl-C; running the same command again resumes
(--fresh starts over). The trained SAE is registered like an imported one (facet sae info N);
--pth also writes it as the paper's checkpoint (torch.save format; name it _l<L+1> so the paper's
code and facet sae import read the layer).`;

function positiveNumber(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new FacetError('INVALID_ARGUMENT', `--${option} must be a positive number, got '${text}'.`);
  return value;
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      layer: { type: 'string' },
      dataset: { type: 'string' },
      name: { type: 'string' },
      features: { type: 'string' },
      k: { type: 'string' },
      tied: { type: 'boolean', default: true },
      untied: { type: 'boolean', default: false },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      'batch-tokens': { type: 'string' },
      'k-anneal-from': { type: 'string' },
      'k-anneal-steps': { type: 'string' },
      'validation-fraction': { type: 'string' },
      seed: { type: 'string' },
      'max-tokens': { type: 'string' },
      'no-template': { type: 'boolean', default: false },
      threads: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      'cpu-model': { type: 'boolean', default: false },
      'checkpoint-every': { type: 'string' },
      fresh: { type: 'boolean', default: false },
      pth: { type: 'string' },
    },
    strict: true,
  });
  if (values.model === undefined || values.layer === undefined || values.dataset === undefined) {
    throw new FacetError('INVALID_ARGUMENT', `--model, --layer and --dataset are required.\nUsage: ${usage}`);
  }
  if (values.untied) throw new FacetError('INVALID_ARGUMENT', 'Facet trains tied TopK SAEs only (the paper\'s architecture); drop --untied.');
  const device = values.device as TrainingDevice;
  if (device !== 'auto' && device !== 'cpu' && device !== 'cuda') throw new FacetError('INVALID_ARGUMENT', `--device must be auto, cpu or cuda, got '${values.device}'.`);
  const k = parsePositiveInteger(values.k, 'k', 20);
  const validationFraction = values['validation-fraction'] === undefined ? undefined : Number(values['validation-fraction']);
  if (validationFraction !== undefined && !(validationFraction >= 0 && validationFraction < 0.5)) {
    throw new FacetError('INVALID_ARGUMENT', `--validation-fraction must be in [0, 0.5), got '${values['validation-fraction']}'.`);
  }
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new FacetError('INVALID_ARGUMENT', `--seed must be an integer ≥ 0, got '${values.seed}'.`);

  const params: SaeTrainingParams & { features: number; k: number } = {
    model: values.model,
    layer: parseLayer(values.layer),
    dataset: values.dataset,
    ...(values.name !== undefined ? { name: values.name } : {}),
    features: parsePositiveInteger(values.features, 'features', 65_536),
    k,
    kAnnealFrom: parsePositiveInteger(values['k-anneal-from'], 'k-anneal-from', k),
    kAnnealSteps: parsePositiveInteger(values['k-anneal-steps'], 'k-anneal-steps', 625),
    epochs: parsePositiveInteger(values.epochs, 'epochs', 3),
    learningRate: positiveNumber(values.lr, 'lr', 1e-3),
    batchTokens: parsePositiveInteger(values['batch-tokens'], 'batch-tokens', 4096),
    ...(validationFraction !== undefined ? { validationFraction } : {}),
    seed,
    maxTokens: parsePositiveInteger(values['max-tokens'], 'max-tokens', 512),
    template: !values['no-template'],
    ...(values.threads !== undefined ? { threads: parsePositiveInteger(values.threads, 'threads', 1) } : {}),
    device,
    cpuModel: values['cpu-model'],
    fresh: values.fresh,
    checkpointEverySeconds: positiveNumber(values['checkpoint-every'], 'checkpoint-every', 300),
    ...(values.pth !== undefined ? { exportPth: resolve(values.pth) } : {}),
  };
  const engine = openCliEngine(ctx);
  let summary: SaeTrainingSummary;
  try {
    // A registered dataset goes through the engine method the Models page calls (names checked
    // before the job starts); a dataset file, which only the CLI offers, is the same job kind.
    const registered = (await engine.call('datasets.list', {})).some((dataset) => dataset.name === params.dataset || String(dataset.id) === params.dataset);
    const job = registered || !existsSync(params.dataset) ? await engine.call('saes.train', params) : engine.jobs.submit('sae.train', params);
    summary = (await followJob(engine, ctx, job, 'training SAE (tokens)')).result as SaeTrainingSummary;
  } finally {
    await engine.close();
  }
  const lastLoss = summary.history.at(-1)?.trainNormalisedMse ?? NaN;
  if (ctx.json) {
    ctx.printJson({ sae: recordSummary(summary.sae), pth: summary.pthPath, steps: summary.steps, tokens: summary.tokens, resumedFromStep: summary.resumedFromStep, tokensPerSecond: summary.tokensPerSecond, device: summary.device, history: summary.history });
    return 0;
  }
  const last = summary.history.at(-1);
  ctx.out(
    [
      `Registered SAE '${summary.sae.name}' (tied TopK K=${summary.sae.k}, ${summary.sae.dIn}→${summary.sae.dSae}, l_out-${summary.sae.layer}).`,
      `  ${summary.steps} steps, ${summary.tokens} tokens, ${summary.tokensPerSecond.toFixed(1)} tokens/s on ${summary.device}${summary.resumedFromStep > 0 ? `, resumed from step ${summary.resumedFromStep}` : ''}; last epoch's train normalised MSE ${Number.isNaN(lastLoss) ? 'n/a' : lastLoss.toFixed(4)}`,
      ...summary.history.map(
        (epoch) =>
          `  epoch ${epoch.epoch + 1}: train normalised MSE ${epoch.trainNormalisedMse.toFixed(4)}, dead features ${epoch.deadFeatures}` +
          (epoch.validation ? `; validation normalised MSE ${epoch.validation.normalisedMse.toFixed(4)}, FVU ${epoch.validation.fractionOfVarianceUnexplained.toFixed(4)}, L0 ${epoch.validation.l0.toFixed(2)} (${epoch.validation.tokens} tokens)` : ''),
      ),
      last?.validation ? '' : '  (no validation tokens: raise --validation-fraction or use a larger dataset)',
      summary.pthPath !== null ? `  paper checkpoint: ${summary.pthPath}` : '',
      `Check it with: facet sae check --sae ${summary.sae.name} --model ${values.model} --dataset <another dataset>`,
    ]
      .filter((line) => line !== '')
      .join('\n'),
  );
  return 0;
}
