import { FacetError, isAbortError, throwIfAborted } from '../../../shared/FacetError.ts';
import type { ActivationSource } from './ActivationSource.ts';
import { DEFAULT_ADAM, type AdamHyperparameters } from './adamUpdate.ts';
import { runTrainingStep } from './runTrainingStep.ts';
import { kAtStep } from './kAtStep.ts';
import { CheckpointableRandom } from './CheckpointableRandom.ts';
import { ShuffleBuffer } from './ShuffleBuffer.ts';
import { addStatistics, emptyStatistics, TiedTopKStepSession, type BatchStatistics, type TrainingDevice } from './TiedTopKStepSession.ts';
import { zerosLike, type TiedTopKParameters } from './TiedTopKParameters.ts';
import { loadTrainingCheckpoint, saveTrainingCheckpoint, type TrainingCheckpointState } from './TrainingCheckpoint.ts';

export interface SaeTrainingOptions {
  source: ActivationSource;
  /** Number of features. Defaults to 65,536 (the paper). */
  dSae?: number;
  /** Final TopK K. Defaults to 20 (the paper). */
  k?: number;
  /** Start K of the linear anneal down to `k`. Defaults to `k` (no annealing). */
  kAnnealFrom?: number;
  /** Steps over which K anneals. Defaults to 625 (the paper's code). */
  kAnnealSteps?: number;
  /** Defaults to 3. */
  epochs?: number;
  /** Training rows (tokens) per optimiser step. Defaults to 4,096. */
  batchTokens?: number;
  /** Adam settings; learning rate defaults to 1e-3. */
  adam?: Partial<AdamHyperparameters>;
  /** Seeds weight init and batch shuffling. Defaults to 0. */
  seed?: number;
  /** Share of source chunks held out for validation (every round(1/f)-th chunk). Defaults to 0.05. */
  validationFraction?: number;
  /** Held-out rows kept in memory for validation. Defaults to 4,096. */
  validationMaxTokens?: number;
  /** Rows the shuffle buffer collects before drawing a batch. Defaults to 4 × batchTokens. */
  shuffleTokens?: number;
  /** Folder for checkpoints; training resumes from one found there. No checkpoints when absent. */
  checkpointDir?: string;
  /** Save a checkpoint after this many steps. Defaults to none (time-based only). */
  checkpointEverySteps?: number;
  /** Save a checkpoint when this much time passed since the last one. Defaults to 300 s. */
  checkpointEverySeconds?: number;
  /** onnxruntime threads. Defaults to all cores. */
  threads?: number;
  /** Defaults to `auto`. */
  device?: TrainingDevice;
  /** See {@link TiedTopKStepSession}. */
  maxSelectionElements?: number;
  /** Stop after this many optimiser steps in this call (tests, benchmarks). */
  maxSteps?: number;
}

export interface SaeTrainingProgress {
  phase: 'train' | 'validate';
  step: number;
  epoch: number;
  epochs: number;
  /** Training tokens consumed so far (all epochs). */
  tokens: number;
  /** epochs × tokens per epoch once the first epoch's rows are all read; null before. */
  totalTokens: number | null;
  k: number;
  /** Normalised MSE of the last batch. */
  loss: number;
  tokensPerSecond: number;
  /** Mean number of non-zero codes per row of the last batch (≤ K). */
  l0: number;
  /** Features that fired on none of the last {@link deadWindowTokens} training rows (fewer at the start of a run). */
  deadFeatures: number;
  /** Rows the dead-feature count looks back over: {@link deadFeatureWindow}, or the rows trained in this call while fewer. */
  deadWindowTokens: number;
  /** Number of features (d_sae). */
  features: number;
}

export interface SaeValidationSummary {
  tokens: number;
  /** mean_j ‖x̂_j − x_j‖² / ‖x_j‖² (the training loss). */
  normalisedMse: number;
  /** Σ‖x̂ − x‖² / Σ‖x − mean‖² over the held-out rows. */
  fractionOfVarianceUnexplained: number;
  /** Mean number of non-zero codes per row. */
  l0: number;
}

export interface SaeEpochSummary {
  epoch: number;
  steps: number;
  tokens: number;
  trainNormalisedMse: number;
  /** Features that never fired on this epoch's training rows. */
  deadFeatures: number;
  validation: SaeValidationSummary | null;
}

export interface SaeTrainingResult {
  parameters: TiedTopKParameters;
  k: number;
  steps: number;
  tokens: number;
  /** True when every epoch finished (false after `maxSteps`). */
  complete: boolean;
  history: SaeEpochSummary[];
  /** Training tokens per second of this call (steps only, not checkpoint writes). */
  tokensPerSecond: number;
  device: 'cpu' | 'cuda';
  /** Step the run started from (0 unless it resumed from a checkpoint). */
  resumedFromStep: number;
}

/**
 * Trains a tied TopK SAE with the paper's recipe: W_dec = W_encᵀ, b_dec initialised at the data
 * mean (of the first shuffle buffer), loss = mean ‖x − x̂‖²/‖x‖², Adam, K annealed linearly from
 * `kAnnealFrom` to `k`. Activations stream from `source` epoch after epoch; every
 * round(1/validationFraction)-th chunk is held out. With `checkpointDir`, the state (weights,
 * Adam moments, step, source cursor, shuffle buffer, random state) is saved there and a later
 * call with the same options continues exactly where a killed run stopped (a cancelled run saves
 * a checkpoint before it returns; a killed one loses the steps since the last).
 */
export async function trainTiedTopKSae(
  options: SaeTrainingOptions,
  control: { signal?: AbortSignal; onProgress?: (progress: SaeTrainingProgress) => void } = {},
): Promise<SaeTrainingResult> {
  const { source } = options;
  const dIn = source.dIn;
  const dSae = options.dSae ?? 65_536;
  const k = options.k ?? 20;
  const kAnnealFrom = options.kAnnealFrom ?? k;
  const kAnnealSteps = options.kAnnealSteps ?? 625;
  const epochs = options.epochs ?? 3;
  const batchTokens = options.batchTokens ?? 4096;
  const adam: AdamHyperparameters = { ...DEFAULT_ADAM, ...options.adam };
  const seed = options.seed ?? 0;
  const validationFraction = options.validationFraction ?? 0.05;
  const validationEvery = validationFraction > 0 ? Math.max(2, Math.round(1 / validationFraction)) : 0;
  const validationMaxTokens = options.validationMaxTokens ?? 4096;
  const shuffleTokens = Math.max(options.shuffleTokens ?? 4 * batchTokens, batchTokens);
  const checkpointEverySeconds = options.checkpointEverySeconds ?? 300;
  validateOptions({ dIn, dSae, k, kAnnealFrom, epochs, batchTokens, validationFraction });

  const fingerprint = { dIn, dSae, k, kAnnealFrom, kAnnealSteps, epochs, batchTokens, seed, validationEvery, validationMaxTokens, shuffleTokens, ...prefixKeys(adam) };
  const saved = options.checkpointDir ? await loadTrainingCheckpoint(options.checkpointDir) : undefined;
  if (saved) checkFingerprint(saved.state, fingerprint, options.checkpointDir as string);

  let state: TrainingCheckpointState = saved?.state ?? {
    version: 1,
    fingerprint,
    dIn,
    dSae,
    step: 0,
    epoch: 0,
    cursor: 0,
    randomState: seed,
    decoderBiasInitialised: false,
    tokens: 0,
    epochTokens: 0,
    epochNormalisedErrorSum: 0,
    tokensPerEpoch: null,
    history: [],
  };
  const random = new CheckpointableRandom(state.randomState);
  const parameters = saved?.parameters ?? initialParameters(dIn, dSae, random);
  const firstMoment = saved?.adamFirstMoment ?? zerosLike(parameters);
  const secondMoment = saved?.adamSecondMoment ?? zerosLike(parameters);
  const featureFires = saved?.featureFires ?? new Float64Array(dSae);
  const buffer = new ShuffleBuffer(dIn, shuffleTokens + batchTokens, saved?.buffer);
  let validation = saved?.validation ?? new Float32Array(0);
  const gradient = zerosLike(parameters);
  const batch = new Float32Array(batchTokens * dIn);
  const resumedFromStep = state.step;
  // Dead features: rows since each feature last fired, seen through the per-epoch fire counts.
  const deadWindow = deadFeatureWindow(batchTokens);
  const firesSeen = Float64Array.from(featureFires);
  const lastFiredAt = new Float64Array(dSae).fill(state.tokens);

  const session = await TiedTopKStepSession.create({
    dIn,
    dSae,
    float: 'float32',
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.device !== undefined ? { device: options.device } : {}),
    ...(options.maxSelectionElements !== undefined ? { maxSelectionElements: options.maxSelectionElements } : {}),
  });

  let stepSeconds = 0;
  let tokensThisCall = 0;
  let stepsThisCall = 0;
  let lastCheckpointAt = Date.now();
  let stepsSinceCheckpoint = 0;
  let complete = false;

  const snapshot = () => {
    state = { ...state, randomState: random.savedState };
    return { state, parameters, adamFirstMoment: firstMoment, adamSecondMoment: secondMoment, buffer: buffer.view(), validation, featureFires };
  };
  const maybeCheckpoint = async (force: boolean) => {
    if (!options.checkpointDir) return;
    const due =
      force ||
      (options.checkpointEverySteps !== undefined && stepsSinceCheckpoint >= options.checkpointEverySteps) ||
      Date.now() - lastCheckpointAt >= checkpointEverySeconds * 1000;
    if (!due || stepsSinceCheckpoint === 0) return;
    await saveTrainingCheckpoint(options.checkpointDir, snapshot());
    lastCheckpointAt = Date.now();
    stepsSinceCheckpoint = 0;
  };

  try {
    epochLoop: while (state.epoch < epochs) {
      const iterator = source.chunks({ startChunk: state.cursor, ...(control.signal ? { signal: control.signal } : {}) })[Symbol.asyncIterator]();
      let sourceDone = false;
      try {
        while (true) {
          throwIfAborted(control.signal);
          // Fill the shuffle buffer (whole chunks), holding out validation chunks.
          while (!sourceDone && buffer.rows < shuffleTokens) {
            const next = await iterator.next();
            throwIfAborted(control.signal);
            if (next.done) {
              sourceDone = true;
              break;
            }
            const chunk = next.value;
            checkChunk(chunk, dIn, state.cursor);
            const isValidation = validationEvery > 0 && state.cursor % validationEvery === validationEvery - 1;
            state.cursor += 1;
            if (!isValidation) buffer.append(chunk);
            else if (state.epoch === 0 && validation.length < validationMaxTokens * dIn) validation = appendRows(validation, chunk, validationMaxTokens * dIn);
          }
          if (buffer.rows === 0) break;
          if (!state.decoderBiasInitialised) {
            meanRows(buffer.view(), dIn, parameters.decoderBias);
            state.decoderBiasInitialised = true;
          }
          const rows = Math.min(batchTokens, buffer.rows);
          buffer.draw(rows, random, batch);
          const currentK = kAtStep(state.step, k, kAnnealFrom, kAnnealSteps);
          const started = performance.now();
          const step = state.step + 1;
          const stats = await runTrainingStep(session, { parameters, gradient, firstMoment, secondMoment }, batch.subarray(0, rows * dIn), currentK, step, adam, featureFires);
          stepSeconds += (performance.now() - started) / 1000;
          const loss = stats.normalisedErrorSum / stats.rows;
          if (!Number.isFinite(loss)) {
            throw new FacetError('SAE_NAN', `SAE training diverged at step ${step} (loss ${loss}); lower --lr or check the activations for NaN/Inf values.`, { step, loss });
          }
          state.step = step;
          state.tokens += rows;
          state.epochTokens += rows;
          state.epochNormalisedErrorSum += stats.normalisedErrorSum;
          tokensThisCall += rows;
          stepsThisCall += 1;
          stepsSinceCheckpoint += 1;
          let dead = 0;
          for (let f = 0; f < dSae; f++) {
            if (featureFires[f] !== firesSeen[f]) {
              firesSeen[f] = featureFires[f]!;
              lastFiredAt[f] = state.tokens;
            } else if (state.tokens - lastFiredAt[f]! >= Math.min(deadWindow, tokensThisCall)) dead += 1;
          }
          control.onProgress?.({
            phase: 'train',
            step,
            epoch: state.epoch,
            epochs,
            tokens: state.tokens,
            totalTokens: state.tokensPerEpoch === null ? null : state.tokensPerEpoch * epochs,
            k: currentK,
            loss,
            tokensPerSecond: tokensThisCall / stepSeconds,
            l0: stats.activeSum / stats.rows,
            deadFeatures: dead,
            deadWindowTokens: Math.min(deadWindow, tokensThisCall),
            features: dSae,
          });
          if (options.maxSteps !== undefined && stepsThisCall >= options.maxSteps) {
            await maybeCheckpoint(true);
            break epochLoop;
          }
          await maybeCheckpoint(false);
        }
      } finally {
        await iterator.return?.();
      }
      // Epoch finished: validate, summarise, reset the per-epoch counters.
      if (state.epochTokens === 0) {
        throw new FacetError('DATASET_EMPTY', 'The activation source yielded no training rows; check that the dataset has samples with tokens after the chat-template prefix, or lower --validation-fraction.', { epoch: state.epoch });
      }
      control.onProgress?.({ phase: 'validate', step: state.step, epoch: state.epoch, epochs, tokens: state.tokens, totalTokens: (state.tokensPerEpoch ?? state.epochTokens) * epochs, k, loss: NaN, tokensPerSecond: tokensThisCall / Math.max(stepSeconds, 1e-9), l0: NaN, deadFeatures: NaN, deadWindowTokens: Math.min(deadWindow, tokensThisCall), features: dSae });
      const summary: SaeEpochSummary = {
        epoch: state.epoch,
        steps: state.step,
        tokens: state.epochTokens,
        trainNormalisedMse: state.epochNormalisedErrorSum / state.epochTokens,
        deadFeatures: countZeros(featureFires),
        validation: validation.length > 0 ? await validate(session, parameters, validation, kAtStep(state.step, k, kAnnealFrom, kAnnealSteps)) : null,
      };
      state = {
        ...state,
        history: [...state.history, summary],
        tokensPerEpoch: state.tokensPerEpoch ?? state.epochTokens,
        epoch: state.epoch + 1,
        cursor: 0,
        epochTokens: 0,
        epochNormalisedErrorSum: 0,
      };
      featureFires.fill(0);
      firesSeen.fill(0);
      stepsSinceCheckpoint += 1;
      await maybeCheckpoint(true);
    }
    complete = state.epoch >= epochs;
  } catch (error) {
    // Cancelled (Ctrl-C, job cancel): keep the work since the last checkpoint. The state is
    // consistent here: aborts are seen between steps, before a read chunk is counted.
    if (isAbortError(error)) await maybeCheckpoint(true);
    throw error;
  } finally {
    await session.dispose();
  }

  return {
    parameters,
    k,
    steps: state.step,
    tokens: state.tokens,
    complete,
    history: state.history as SaeEpochSummary[],
    tokensPerSecond: stepSeconds > 0 ? tokensThisCall / stepSeconds : 0,
    device: session.device,
    resumedFromStep,
  };
}

/**
 * Rows a feature may go without firing before it counts as dead in the progress: 100 batches,
 * at least 100,000 rows (SAELens looks back 1,000 steps; this is shorter so small runs show it).
 */
export function deadFeatureWindow(batchTokens: number): number {
  return Math.max(100 * batchTokens, 100_000);
}

/** Held-out statistics for trained parameters (forward graph only). */
async function validate(session: TiedTopKStepSession, parameters: TiedTopKParameters, rows: Float32Array, k: number): Promise<SaeValidationSummary> {
  const stats: BatchStatistics = emptyStatistics();
  addStatistics(stats, await session.evaluate(parameters, rows, k));
  const dIn = parameters.dIn;
  const count = rows.length / dIn;
  const mean = new Float64Array(dIn);
  meanRows(rows, dIn, mean);
  let variance = 0;
  for (let j = 0; j < count; j++) for (let i = 0; i < dIn; i++) variance += (rows[j * dIn + i]! - mean[i]!) ** 2;
  return {
    tokens: count,
    normalisedMse: stats.normalisedErrorSum / count,
    fractionOfVarianceUnexplained: stats.errorSum / variance,
    l0: stats.activeSum / count,
  };
}

/**
 * Rows of W start as random unit vectors (Gaussian, normalised), so encoder and decoder agree
 * from step 0; b_enc = 0; b_dec is set to the data mean before the first step.
 */
export function initialParameters(dIn: number, dSae: number, random: CheckpointableRandom): TiedTopKParameters {
  const weight = new Float32Array(dSae * dIn);
  // Box–Muller, both outputs of each pair (the init of 4096 × 65,536 weights is on the clock).
  for (let i = 0; i < weight.length; i += 2) {
    let u = random.next();
    while (u <= 0) u = random.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * random.next();
    weight[i] = radius * Math.cos(angle);
    if (i + 1 < weight.length) weight[i + 1] = radius * Math.sin(angle);
  }
  for (let f = 0; f < dSae; f++) {
    const row = weight.subarray(f * dIn, (f + 1) * dIn);
    let norm = 0;
    for (let i = 0; i < dIn; i++) norm += row[i]! * row[i]!;
    const scale = 1 / Math.sqrt(norm);
    for (let i = 0; i < dIn; i++) row[i]! *= scale;
  }
  return { dIn, dSae, weight, encoderBias: new Float32Array(dSae), decoderBias: new Float32Array(dIn) };
}

function meanRows(rows: Float32Array, dIn: number, into: Float32Array | Float64Array): void {
  const count = rows.length / dIn;
  const sum = new Float64Array(dIn);
  for (let j = 0; j < count; j++) for (let i = 0; i < dIn; i++) sum[i]! += rows[j * dIn + i]!;
  for (let i = 0; i < dIn; i++) into[i] = sum[i]! / count;
}

function appendRows(held: Float32Array, chunk: Float32Array, maxValues: number): Float32Array {
  const take = Math.min(chunk.length, maxValues - held.length);
  const grown = new Float32Array(held.length + take);
  grown.set(held);
  grown.set(chunk.subarray(0, take), held.length);
  return grown;
}

function countZeros(values: Float64Array): number {
  let zeros = 0;
  for (const value of values) if (value === 0) zeros += 1;
  return zeros;
}

function checkChunk(chunk: Float32Array, dIn: number, index: number): void {
  if (chunk.length % dIn !== 0) {
    throw new FacetError('SAE_SHAPE_MISMATCH', `Activation chunk ${index} has ${chunk.length} values, not a multiple of d_in ${dIn}; the source must yield [rows, ${dIn}] row-major batches.`, { chunk: index, length: chunk.length, dIn });
  }
}

function validateOptions(o: { dIn: number; dSae: number; k: number; kAnnealFrom: number; epochs: number; batchTokens: number; validationFraction: number }): void {
  const fail = (message: string) => {
    throw new FacetError('INVALID_ARGUMENT', message, o);
  };
  if (!Number.isInteger(o.dIn) || o.dIn < 1) fail(`d_in ${o.dIn} must be a positive integer.`);
  if (!Number.isInteger(o.dSae) || o.dSae < 1) fail(`--features ${o.dSae} must be a positive integer.`);
  if (!Number.isInteger(o.k) || o.k < 1 || o.k > o.dSae) fail(`--k ${o.k} must be an integer in 1..${o.dSae} (--features).`);
  if (!Number.isInteger(o.kAnnealFrom) || o.kAnnealFrom < o.k || o.kAnnealFrom > o.dSae) fail(`--k-anneal-from ${o.kAnnealFrom} must be an integer between --k ${o.k} and --features ${o.dSae}.`);
  if (!Number.isInteger(o.epochs) || o.epochs < 1) fail(`--epochs ${o.epochs} must be a positive integer.`);
  if (!Number.isInteger(o.batchTokens) || o.batchTokens < 1) fail(`--batch-tokens ${o.batchTokens} must be a positive integer.`);
  if (!(o.validationFraction >= 0 && o.validationFraction < 0.5)) fail(`--validation-fraction ${o.validationFraction} must be in [0, 0.5).`);
}

function prefixKeys(adam: AdamHyperparameters): Record<string, number> {
  return { adamLearningRate: adam.learningRate, adamBeta1: adam.beta1, adamBeta2: adam.beta2, adamEpsilon: adam.epsilon };
}

function checkFingerprint(state: TrainingCheckpointState, fingerprint: Record<string, number | string | boolean>, dir: string): void {
  const differences = Object.keys(fingerprint).filter((key) => state.fingerprint[key] !== fingerprint[key]);
  if (differences.length > 0) {
    throw new FacetError(
      'INVALID_ARGUMENT',
      `The training checkpoint in ${dir} was made with different settings (${differences.map((key) => `${key}: ${String(state.fingerprint[key])} there, ${String(fingerprint[key])} now`).join('; ')}). Resume with the same settings, or delete that folder to start afresh.`,
      { dir, differences },
    );
  }
}
