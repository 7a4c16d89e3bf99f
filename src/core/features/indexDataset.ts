import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import type { CaptureResult, ProbeContext } from '../llama/ProbeContext.ts';
import { physicalCoreCount } from '../llama/physicalCoreCount.ts';
import { ProbeModel, type PreparedSample } from '../llama/ProbeModel.ts';
import { SaeRegistry } from '../sae/SaeRegistry.ts';
import type { SaeSession } from '../sae/SaeSession.ts';
import type { Store } from '../store/Store.ts';
import { FeatureIndexRepository, type FeatureIndexRecord, type FeatureSpaceRecord } from './FeatureIndexRepository.ts';
import { finalizeFeatureIndex, type SpanTextSource } from './finalizeFeatureIndex.ts';
import { resolveFeatureSpace, resolveIndexDataset, type FeatureSpaceParams } from './resolveFeatureSpace.ts';
import { SampleMaximaReducer } from './SampleMaximaReducer.ts';
import { encodeSampleFeatures, type SampleFeatures } from './SampleFeatures.ts';

/** `features.index` as plain data: one dataset in one feature space. */
export interface FeatureIndexParams extends FeatureSpaceParams {
  /** Registered dataset name or id. */
  dataset: string;
  /**
   * Threads for llama.cpp and for onnxruntime each. Defaults to splitting the physical cores
   * between them (they run at the same time: capture of one batch, encoding of the previous).
   */
  threads?: number;
  /** Run the model and the SAE on the CPU even where a GPU is available. Defaults to false. */
  cpu?: boolean;
  /** Spans kept per feature. Defaults to 10. */
  topSpans?: number;
  /** Samples per capture call (and per committed batch). Defaults to 32. */
  samplesPerBatch?: number;
}

export interface FeatureIndexProgress {
  /** `index`: samples captured, encoded and stored; `finalize`: per-feature totals, columns and spans. */
  phase: 'index' | 'finalize';
  done: number;
  total: number;
}

export interface FeatureIndexSummary {
  indexId: number;
  spaceId: number;
  dataset: string;
  samples: number;
  /** Stored (sample, feature) pairs. */
  entries: number;
  tokens: number;
  /** The index was complete before this call: nothing ran. */
  alreadyIndexed: boolean;
  /** Samples already stored by an earlier, interrupted run. */
  resumedFrom: number;
  seconds: number;
  /** Samples indexed per second in this call (capture + encode + store). */
  samplesPerSecond: number;
}

export interface FeatureIndexControl {
  signal?: AbortSignal;
  /** Called inside the SQLite transaction that stores the batch it reports (jobs save their checkpoint there). */
  onProgress?: (progress: FeatureIndexProgress) => void;
}

/**
 * Builds (or resumes, or finds complete) the feature index of one dataset: applies the model's
 * chat template (t0 from the template actually rendered), captures `l_out-<layer>`, encodes the
 * rows t ≥ t0 with the SAE and stores per sample g_i = max_t code_i with its peak position.
 * Residuals are dropped once encoded. The model captures batch n+1 (on a llama.cpp worker
 * thread) while batch n is encoded (onnxruntime-node runs on the JS thread: its promise only
 * defers the call). Each batch is stored in one transaction with its progress, so a killed run
 * resumes at the first batch not stored.
 */
export async function indexDataset(store: Store, home: string, params: FeatureIndexParams, control: FeatureIndexControl = {}): Promise<FeatureIndexSummary> {
  const started = performance.now();
  const { space: spaceSpec, modelPath, sae } = await resolveFeatureSpace(store, home, params);
  const dataset = resolveIndexDataset(store, params.dataset);
  const repository = new FeatureIndexRepository(store.db);
  const existingSpace = repository.spaceByKey(spaceSpec.key);
  const existingIndex = existingSpace === undefined ? undefined : repository.index(existingSpace.id, dataset.id);
  const summary = (space: FeatureSpaceRecord, index: FeatureIndexRecord, alreadyIndexed: boolean, resumedFrom: number): FeatureIndexSummary => {
    const final = repository.indexById(index.id)!;
    const seconds = (performance.now() - started) / 1000;
    return {
      indexId: index.id,
      spaceId: space.id,
      dataset: dataset.name,
      samples: final.sampleCount,
      entries: final.entryCount,
      tokens: final.tokenCount,
      alreadyIndexed,
      resumedFrom,
      seconds,
      samplesPerSecond: alreadyIndexed ? 0 : (final.sampleCount - resumedFrom) / Math.max(seconds, 1e-9),
    };
  };
  if (existingSpace !== undefined && existingIndex?.state === 'ready') return summary(existingSpace, existingIndex, true, existingIndex.sampleCount);
  if (existingIndex !== undefined && existingIndex.sampleCount !== dataset.sampleCount) {
    throw new FacetError('INTERNAL', `The unfinished feature index of '${dataset.name}' was started for ${existingIndex.sampleCount} samples but the dataset has ${dataset.sampleCount}.`);
  }

  const samplesPerBatch = params.samplesPerBatch ?? 32;
  const cores = physicalCoreCount();
  const saeThreads = params.threads ?? Math.max(1, Math.floor(cores / 2));
  const llamaThreads = params.threads ?? Math.max(1, cores - saeThreads);
  const model = await ProbeModel.load(modelPath, { gpu: params.cpu ? false : 'auto', ...(control.signal ? { signal: control.signal } : {}) });
  let session: SaeSession | undefined;
  try {
    const { nLayer, nEmbd } = model.info;
    if (spaceSpec.layer >= nLayer) {
      throw new FacetError('LAYER_OUT_OF_RANGE', `Layer ${spaceSpec.layer} does not exist in ${modelPath}: it has blocks 0..${nLayer - 1} (0-based l_out index; the paper's "layer 16" is 15). Pass --layer.`, { layer: spaceSpec.layer, blocks: nLayer });
    }
    if (sae.dIn !== nEmbd) {
      throw new FacetError('SAE_SHAPE_MISMATCH', `SAE '${sae.name}' reads vectors of ${sae.dIn} values but ${modelPath} has n_embd ${nEmbd}. Use an SAE trained on this model.`, { sae: sae.name, dIn: sae.dIn, nEmbd });
    }
    // Only a model and SAE that fit get a feature space and index row: a refused run leaves none.
    const space = repository.ensureSpace(spaceSpec);
    const index = repository.ensureIndex(space.id, dataset.id, dataset.sampleCount);
    session = await new SaeRegistry(store, home).openSession(sae, {
      activation: space.encodeMode === 'dense-relu' ? 'dense-relu' : 'architecture',
      provider: params.cpu ? 'cpu' : 'auto',
      threads: saeThreads,
    });
    const contextSize = Math.max(Math.min(4096, model.info.nCtxTrain > 0 ? model.info.nCtxTrain : 4096), space.maxTokens);
    const context = await model.createContext({ contextSize, kv: space.kv, threads: llamaThreads });
    const datasets = new DatasetRepository(store.db);
    const prepareOptions = { template: space.template, maxTokens: space.maxTokens };
    const resumedFrom = index.indexedCount;

    await runIndexPipeline({
      context,
      session,
      layer: space.layer,
      reducer: new SampleMaximaReducer(space.dSae, space.minActivation),
      dense: space.encodeMode !== 'topk',
      first: resumedFrom,
      total: dataset.sampleCount,
      samplesPerBatch,
      read: (offset, limit) => datasets.samples(dataset.id, offset, limit).map((row) => model.prepare({ turns: row.turns }, prepareOptions)),
      store: (firstOrdinal, batch) => {
        repository.transaction(() => {
          let tokens = 0;
          batch.forEach((sample, i) => {
            repository.insertSample(index.id, firstOrdinal + i, sample.t0, sample.tokenCount, sample.features.features.length, encodeSampleFeatures(sample.features));
            tokens += sample.tokenCount;
          });
          const done = firstOrdinal + batch.length;
          repository.setIndexed(index.id, done, tokens);
          control.onProgress?.({ phase: 'index', done, total: dataset.sampleCount });
        });
      },
      ...(control.signal ? { signal: control.signal } : {}),
    });

    const spanTexts: SpanTextSource = (ordinal, ranges) => {
      const row = datasets.sample(dataset.id, ordinal);
      if (row === undefined) return ranges.map(() => ({ prefix: '', peak: '' }));
      const { tokens } = model.prepare({ turns: row.turns }, prepareOptions);
      return ranges.map(({ start, peak }) => spanText(model, tokens, start, peak));
    };
    finalizeFeatureIndex(repository, index.id, {
      dSae: space.dSae,
      spanTexts,
      ...(params.topSpans !== undefined ? { topSpans: params.topSpans } : {}),
      ...(control.signal ? { signal: control.signal } : {}),
      onCommit: () => control.onProgress?.({ phase: 'finalize', done: dataset.sampleCount, total: dataset.sampleCount }),
    });
    return summary(space, index, false, resumedFrom);
  } finally {
    await session?.dispose();
    model.dispose();
  }
}

/** The text of tokens `[start, peak)` and of the peak token, decoded together so multi-byte characters split across tokens stay whole. */
export function spanText(model: ProbeModel, tokens: Int32Array, start: number, peak: number): { prefix: string; peak: string } {
  const end = Math.min(peak, tokens.length - 1);
  const from = Math.min(start, end);
  const prefix = from < end ? model.detokenize(tokens.subarray(from, end)) : '';
  const whole = model.detokenize(tokens.subarray(from, end + 1));
  return whole.startsWith(prefix) ? { prefix, peak: whole.slice(prefix.length) } : { prefix, peak: model.tokenTexts([tokens[end]!])[0] ?? '' };
}

/** One sample's result: its sparse g plus what the index row records. */
export interface IndexedSample {
  t0: number;
  tokenCount: number;
  features: SampleFeatures;
}

export interface IndexPipelineOptions {
  context: ProbeContext;
  session: SaeSession;
  layer: number;
  reducer: SampleMaximaReducer;
  /**
   * Encode to dense codes and reduce them directly (for `dense-relu` and non-TopK SAEs, where
   * most codes are positive). Defaults to false: sparse TopK codes.
   */
  dense?: boolean;
  /** First sample to run (a multiple of samplesPerBatch when resuming, so batches stay aligned). */
  first: number;
  total: number;
  samplesPerBatch: number;
  /** Prepared samples `offset .. offset + limit − 1`. */
  read(offset: number, limit: number): PreparedSample[];
  /** Receives each batch's results in order (synchronously, e.g. one SQLite transaction). */
  store(firstOrdinal: number, batch: IndexedSample[]): void;
  signal?: AbortSignal;
}

/**
 * The capture → encode → reduce → store loop with one batch of overlap: while the model
 * captures batch n+1 on llama.cpp's worker thread, the JS thread encodes batch n (onnxruntime),
 * reduces it to sample maxima and stores it. At most two batches of residuals exist at a time.
 */
export async function runIndexPipeline(options: IndexPipelineOptions): Promise<void> {
  const { context, session, layer, reducer, total, samplesPerBatch, signal } = options;
  const dIn = session.config.dIn;
  let encoding: Promise<void> = Promise.resolve();
  let offset = options.first;
  try {
    while (offset < total) {
      throwIfAborted(signal);
      const batch = options.read(offset, Math.min(samplesPerBatch, total - offset));
      if (batch.length === 0) throw new FacetError('INTERNAL', `The dataset returned no samples at ordinal ${offset} of ${total}.`);
      const runnable = batch.filter((sample) => sample.tokens.length > 0).map((sample) => sample.tokens);
      const capturing = runnable.length === 0 ? Promise.resolve(null) : context.capture(runnable, { layers: [layer], ...(signal ? { signal } : {}) });
      const [captured, previous] = await Promise.allSettled([capturing, encoding]);
      if (previous.status === 'rejected') throw previous.reason;
      if (captured.status === 'rejected') throw captured.reason;
      const first = offset;
      encoding = encodeBatch(captured.value, batch, first);
      encoding.catch(() => undefined);
      offset += batch.length;
    }
  } finally {
    // never leave an encode running unobserved
    await encoding.catch((error: unknown) => {
      if (offset >= total) throw error;
    });
  }

  async function encodeBatch(captured: CaptureResult | null, batch: PreparedSample[], firstOrdinal: number): Promise<void> {
    let rows = 0;
    for (const sample of batch) rows += Math.max(0, sample.tokens.length - sample.t0);
    const x = new Float32Array(rows * dIn);
    const residuals = captured?.activations.get(layer);
    let row = 0;
    let next = 0;
    for (const sample of batch) {
      if (sample.tokens.length === 0) continue;
      const base = captured!.offsets[next++]!;
      x.set(residuals!.subarray((base + sample.t0) * dIn, (base + sample.tokens.length) * dIn), row * dIn);
      row += sample.tokens.length - sample.t0;
    }
    const results: IndexedSample[] = [];
    if (options.dense) {
      // dense codes, one onnxruntime run of ≤ batchSize rows at a time, reduced as they come:
      // ReLU over all features makes most codes positive, too many to list sparsely
      const dSae = session.config.dSae;
      let sample = -1;
      let left = 0;
      const nextSample = (): void => {
        while (left === 0 && sample + 1 < batch.length) {
          if (sample >= 0) results.push({ t0: batch[sample]!.t0, tokenCount: batch[sample]!.tokens.length, features: reducer.end() });
          sample++;
          reducer.begin();
          left = Math.max(0, batch[sample]!.tokens.length - batch[sample]!.t0);
        }
      };
      nextSample();
      for (let start = 0; start < rows; start += session.batchSize) {
        const n = Math.min(session.batchSize, rows - start);
        const codes = await session.encode(x.subarray(start * dIn, (start + n) * dIn), n, signal ? { signal } : {});
        for (let r = 0; r < n; r++) {
          const current = batch[sample]!;
          reducer.addDenseRow(codes.subarray(r * dSae, (r + 1) * dSae), current.tokens.length - left);
          left--;
          nextSample();
        }
      }
      while (results.length < batch.length) {
        results.push({ t0: batch[sample]!.t0, tokenCount: batch[sample]!.tokens.length, features: reducer.end() });
        sample++;
        reducer.begin();
      }
    } else {
      const codes = await session.encodeSparse(x, rows, signal ? { signal } : {});
      row = 0;
      for (const sample of batch) {
        const count = Math.max(0, sample.tokens.length - sample.t0);
        results.push({ t0: sample.t0, tokenCount: sample.tokens.length, features: reducer.reduce(codes, row, count, sample.t0) });
        row += count;
      }
    }
    options.store(firstOrdinal, results);
  }
}
