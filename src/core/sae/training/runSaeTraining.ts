import { createHash } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import { JobMetricsRepository } from '../../jobs/JobMetricsRepository.ts';
import type { JobDefinition } from '../../jobs/JobRunner.ts';
import { ProbeModel } from '../../llama/ProbeModel.ts';
import { resolveModel } from '../../models/ModelService.ts';
import type { Store } from '../../store/Store.ts';
import { writeFacetSae } from '../loaders/facetSaeFormat.ts';
import { getSaeLoader } from '../loaders/saeLoaders.ts';
import { SaeRegistry } from '../SaeRegistry.ts';
import type { SaeRecord } from '../SaeRepository.ts';
import { openDatasetSamples } from './openDatasetSamples.ts';
import { ProbeActivationSource } from './ProbeActivationSource.ts';
import type { TrainingDevice } from './TiedTopKStepSession.ts';
import { tiedTopKToSae } from './tiedTopKToSae.ts';
import { writePaperCheckpoint } from './writePaperCheckpoint.ts';
import { trainTiedTopKSae, type SaeEpochSummary, type SaeTrainingProgress } from './trainTiedTopKSae.ts';

/** `facet sae train` as plain data (also the params of the `sae.train` job). */
export interface SaeTrainingParams {
  /** Registered model name or a .gguf path. */
  model: string;
  /** llama.cpp 0-based `l_out` index. */
  layer: number;
  /** Registered dataset (name or id) or a dataset file. */
  dataset: string;
  /** Registry name. Defaults to `<model>-L<layer>-<features>-k<k>`. */
  name?: string;
  /** Defaults to 65,536. */
  features?: number;
  /** Defaults to 20. */
  k?: number;
  /** Defaults to k (no annealing). */
  kAnnealFrom?: number;
  /** Defaults to 625. */
  kAnnealSteps?: number;
  /** Defaults to 3. */
  epochs?: number;
  /** Defaults to 1e-3. */
  learningRate?: number;
  /** Defaults to 4,096. */
  batchTokens?: number;
  /** Defaults to 0.05. */
  validationFraction?: number;
  /** Defaults to 0. */
  seed?: number;
  /** Tokens per templated sample. Defaults to 512. */
  maxTokens?: number;
  /** Defaults to true. */
  template?: boolean;
  /** onnxruntime and llama.cpp threads. Defaults to their own choices. */
  threads?: number;
  /** SAE training device. Defaults to auto. */
  device?: TrainingDevice;
  /** Run the model on the CPU even where a GPU backend exists. Defaults to false. */
  cpuModel?: boolean;
  /** Discard an earlier checkpoint of the same run instead of resuming it. Defaults to false. */
  fresh?: boolean;
  /** Defaults to 300. */
  checkpointEverySeconds?: number;
  /** Also write the SAE as the paper's `.pth` checkpoint to this path. */
  exportPth?: string;
}

export interface SaeTrainingSummary {
  sae: SaeRecord;
  runDir: string;
  steps: number;
  tokens: number;
  resumedFromStep: number;
  tokensPerSecond: number;
  device: 'cpu' | 'cuda';
  history: SaeEpochSummary[];
  /** Where the `.pth` copy was written, when asked for. */
  pthPath: string | null;
}

/** Folder of a training run's checkpoints: one per (model, layer, dataset, settings). */
export function saeTrainingRunDir(home: string, key: Record<string, unknown>): string {
  const digest = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  return join(home, 'sae-training', digest);
}

/**
 * The name the trained SAE will be registered under (`params.name`, else
 * `<model>-L<layer>-<features>-k<k>`), refused when an SAE of that name exists
 * (`INVALID_ARGUMENT`, `details.param = 'name'`): callers check it before queueing the job.
 */
export async function requireFreeSaeName(store: Store, home: string, params: Pick<SaeTrainingParams, 'model' | 'layer' | 'name' | 'features' | 'k'>): Promise<string> {
  const model = await resolveModel(store, params.model);
  const modelName = model.record?.name ?? basename(model.path).replace(/\.gguf$/i, '');
  const name = params.name ?? `${modelName.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '')}-L${params.layer}-${params.features ?? 65_536}-k${params.k ?? 20}`;
  if (new SaeRegistry(store, home).list().some((record) => record.name === name)) {
    throw new FacetError('INVALID_ARGUMENT', `An SAE named '${name}' is already registered. Pass another --name or remove it first (facet sae remove ${name}).`, { name, param: 'name' });
  }
  return name;
}

/**
 * Trains a tied TopK SAE on a model's `l_out-<layer>` residuals over a dataset (streamed through
 * the llama probe, chat template applied, positions t ≥ t0) and registers it like an imported
 * SAE. Checkpoints go to `<home>/sae-training/<run>/`; running the same request again resumes
 * there. The run folder is removed once the SAE is registered.
 */
export async function runSaeTraining(
  store: Store,
  home: string,
  params: SaeTrainingParams,
  control: { signal?: AbortSignal; onProgress?: (progress: SaeTrainingProgress) => void; onNote?: (line: string) => void } = {},
): Promise<SaeTrainingSummary> {
  const features = params.features ?? 65_536;
  const k = params.k ?? 20;
  const model = await resolveModel(store, params.model);
  const modelName = model.record?.name ?? basename(model.path).replace(/\.gguf$/i, '');
  const name = await requireFreeSaeName(store, home, params);
  const registry = new SaeRegistry(store, home);
  const samples = await openDatasetSamples(store, params.dataset, control.signal);
  const fileInfo = await stat(model.path);
  const runDir = saeTrainingRunDir(home, {
    model: model.record?.contentHash ?? `${model.path}:${fileInfo.size}:${fileInfo.mtimeMs}`,
    layer: params.layer,
    dataset: samples.identity,
    features,
    k,
    kAnnealFrom: params.kAnnealFrom ?? k,
    kAnnealSteps: params.kAnnealSteps ?? 625,
    epochs: params.epochs ?? 3,
    learningRate: params.learningRate ?? 1e-3,
    batchTokens: params.batchTokens ?? 4096,
    seed: params.seed ?? 0,
    maxTokens: params.maxTokens ?? 512,
    template: params.template ?? true,
  });
  if (params.fresh) await rm(runDir, { recursive: true, force: true });

  const probe = await ProbeModel.load(model.path, { gpu: params.cpuModel ? false : 'auto', ...(control.signal ? { signal: control.signal } : {}) });
  try {
    const context = await probe.createContext(params.threads !== undefined ? { threads: params.threads } : {});
    const source = new ProbeActivationSource({
      context,
      layer: params.layer,
      sampleCount: samples.count,
      readSamples: samples.read,
      maxTokens: params.maxTokens ?? 512,
      template: params.template ?? true,
    });
    control.onNote?.(`Training ${features} features (K ${k}) on l_out-${params.layer} of ${modelName} (d_in ${source.dIn}) over ${samples.count} samples of ${samples.name}; checkpoints in ${runDir}`);
    const result = await trainTiedTopKSae(
      {
        source,
        dSae: features,
        k,
        ...(params.kAnnealFrom !== undefined ? { kAnnealFrom: params.kAnnealFrom } : {}),
        ...(params.kAnnealSteps !== undefined ? { kAnnealSteps: params.kAnnealSteps } : {}),
        epochs: params.epochs ?? 3,
        batchTokens: params.batchTokens ?? 4096,
        adam: { learningRate: params.learningRate ?? 1e-3 },
        seed: params.seed ?? 0,
        ...(params.validationFraction !== undefined ? { validationFraction: params.validationFraction } : {}),
        checkpointDir: runDir,
        checkpointEverySeconds: params.checkpointEverySeconds ?? 300,
        ...(params.threads !== undefined ? { threads: params.threads } : {}),
        device: params.device ?? 'auto',
      },
      control,
    );
    if (result.resumedFromStep > 0) control.onNote?.(`Resumed from the checkpoint at step ${result.resumedFromStep}.`);

    const annealFrom = params.kAnnealFrom ?? k;
    const annealSteps = params.kAnnealSteps ?? 625;
    const annealUnfinished = annealFrom > k && result.steps < annealSteps;
    const annealNote = `K annealing did not finish (${result.steps} of ${annealSteps} steps): training and validation ran with K above ${k}, but the registered SAE encodes with K = ${k}. Train longer or lower --k-anneal-steps.`;
    if (annealUnfinished) control.onNote?.(annealNote);
    const { config, weights } = tiedTopKToSae(result.parameters, result.k, { modelFamily: modelName, layer: params.layer });
    const saeFolder = join(runDir, 'sae');
    await writeFacetSae(saeFolder, config, weights);
    const loaded = await getSaeLoader('facet').load(saeFolder);
    const last = result.history.at(-1);
    loaded.config.source.hookName = `l_out-${params.layer}`;
    loaded.config.source.notes = [
      `Trained in Facet on ${samples.name} (${samples.count} samples, chat template ${params.template === false ? 'off' : 'on'}, tokens t ≥ t0, ≤ ${params.maxTokens ?? 512} per sample) with ${modelName} l_out-${params.layer}.`,
      `${result.steps} Adam steps over ${result.tokens} tokens; lr ${params.learningRate ?? 1e-3}, batch ${params.batchTokens ?? 4096} tokens, K ${params.kAnnealFrom ?? k}→${k} over ${params.kAnnealSteps ?? 625} steps.`,
      ...(last?.validation ? [`Validation (${last.validation.tokens} held-out tokens): normalised MSE ${last.validation.normalisedMse.toFixed(4)}, FVU ${last.validation.fractionOfVarianceUnexplained.toFixed(4)}, L0 ${last.validation.l0.toFixed(2)}.`] : []),
      ...(annealUnfinished ? [annealNote] : []),
    ];
    const sae = await registry.register(loaded, { name, layer: params.layer, modelFamily: modelName });
    const pthPath = params.exportPth === undefined ? null : resolve(params.exportPth);
    if (pthPath !== null) await writePaperCheckpoint(pthPath, weights, { dIn: config.dIn, dSae: config.dSae, k: result.k });
    await rm(runDir, { recursive: true, force: true });
    return {
      sae,
      runDir,
      steps: result.steps,
      tokens: result.tokens,
      resumedFromStep: result.resumedFromStep,
      tokensPerSecond: result.tokensPerSecond,
      device: result.device,
      history: result.history,
      pthPath,
    };
  } finally {
    probe.dispose();
  }
}

/**
 * `sae.train` as a job: progress in tokens (total known after the first epoch). Resume needs no
 * job checkpoint: the trainer's own checkpoint files are found again from the same params. Each
 * training step's normalised MSE, L0 and dead features go to the job's metric series
 * (`job_metrics`, read by `jobs.metrics`): every step for the first 200, then at most four a
 * second.
 */
export function createSaeTrainingJob(store: Store, home: string): JobDefinition<SaeTrainingParams, { step: number }, SaeTrainingSummary> {
  const metrics = new JobMetricsRepository(store.db);
  return {
    kind: 'sae.train',
    title: (params) => `Train SAE on ${params.model} l_out-${params.layer} over ${params.dataset}`,
    run: (params, ctx) => {
      let lastWrite = 0;
      return runSaeTraining(store, home, params, {
        signal: ctx.signal,
        onProgress: (progress) => {
          const now = Date.now();
          if (progress.phase === 'train' && (progress.step <= 200 || now - lastWrite >= 250)) {
            lastWrite = now;
            metrics.append(ctx.id, progress.tokens, trainingMetricValues(progress));
          }
          ctx.progress(progress.tokens, progress.totalTokens, { step: progress.step });
        },
      });
    },
  };
}

/** The values one training step adds to the job's metric series. */
export function trainingMetricValues(progress: SaeTrainingProgress): Record<string, number> {
  return {
    step: progress.step,
    epoch: progress.epoch,
    epochs: progress.epochs,
    normalisedMse: progress.loss,
    l0: progress.l0,
    k: progress.k,
    deadFeatures: progress.deadFeatures,
    deadWindowTokens: progress.deadWindowTokens,
    features: progress.features,
    tokensPerSecond: progress.tokensPerSecond,
  };
}
