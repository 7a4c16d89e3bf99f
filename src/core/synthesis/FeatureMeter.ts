import { FacetError } from '../../shared/FacetError.ts';
import type { NormalizedSample } from '../../shared/datasetTypes.ts';
import type { FeatureSpaceRecord } from '../features/FeatureIndexRepository.ts';
import { runIndexPipeline, type IndexedSample } from '../features/indexDataset.ts';
import { SampleMaximaReducer } from '../features/SampleMaximaReducer.ts';
import type { SampleFeatures } from '../features/SampleFeatures.ts';
import { physicalCoreCount } from '../llama/physicalCoreCount.ts';
import type { ProbeContext } from '../llama/ProbeContext.ts';
import { ProbeModel } from '../llama/ProbeModel.ts';
import { SaeRegistry } from '../sae/SaeRegistry.ts';
import type { SaeRecord } from '../sae/SaeRepository.ts';
import type { SaeSession } from '../sae/SaeSession.ts';
import type { Store } from '../store/Store.ts';

export interface FeatureMeterOptions {
  /** Threads for llama.cpp and onnxruntime each. Defaults to the physical cores split between them. */
  threads?: number;
  cpu?: boolean;
  /** A loaded copy of the space's model to reuse (e.g. the generator's, when it is the same file). */
  model?: ProbeModel;
  signal?: AbortSignal;
}

/** g of one measured sample, as the index would store it. */
export interface MeasuredSample extends IndexedSample {
  /** g of one feature (0 when it is not above the storage floor). */
  activation(feature: number): number;
}

/**
 * Measures texts in a feature space exactly as indexing does: the same model file, template,
 * truncation, KV type, layer, SAE, encode mode and storage floor, through the same capture →
 * encode → reduce pipeline ({@link runIndexPipeline}, {@link SampleMaximaReducer}). Capture stops
 * after the SAE's layer. A sample's g here equals the g its dataset's index would hold.
 */
export class FeatureMeter {
  readonly space: FeatureSpaceRecord;
  readonly model: ProbeModel;
  private readonly context: ProbeContext;
  private readonly session: SaeSession;
  private readonly ownsModel: boolean;
  /** Seconds spent measuring so far. */
  seconds = 0;

  private constructor(space: FeatureSpaceRecord, model: ProbeModel, context: ProbeContext, session: SaeSession, ownsModel: boolean) {
    this.space = space;
    this.model = model;
    this.context = context;
    this.session = session;
    this.ownsModel = ownsModel;
  }

  static async open(store: Store, home: string, space: FeatureSpaceRecord, sae: SaeRecord, modelPath: string, options: FeatureMeterOptions = {}): Promise<FeatureMeter> {
    if (sae.id !== space.saeId) throw new FacetError('INTERNAL', `SAE ${sae.name} is not the SAE of feature space ${space.id}.`);
    const model = options.model ?? (await ProbeModel.load(modelPath, { gpu: options.cpu ? false : 'auto', ...(options.signal ? { signal: options.signal } : {}) }));
    let session: SaeSession | undefined;
    try {
      // as indexing does: the physical cores split between llama.cpp and onnxruntime, which overlap
      const cores = physicalCoreCount();
      const saeThreads = options.threads ?? Math.max(1, Math.floor(cores / 2));
      const llamaThreads = options.threads ?? Math.max(1, cores - saeThreads);
      session = await new SaeRegistry(store, home).openSession(sae, {
        activation: space.encodeMode === 'dense-relu' ? 'dense-relu' : 'architecture',
        provider: options.cpu ? 'cpu' : 'auto',
        threads: saeThreads,
      });
      const contextSize = Math.max(Math.min(4096, model.info.nCtxTrain > 0 ? model.info.nCtxTrain : 4096), space.maxTokens);
      const context = await model.createContext({ contextSize, kv: space.kv, threads: llamaThreads });
      return new FeatureMeter(space, model, context, session, options.model === undefined);
    } catch (error) {
      await session?.dispose();
      if (options.model === undefined) model.dispose();
      throw error;
    }
  }

  /** The tokens and t0 a sample is measured on (template and truncation of the space). */
  prepare(sample: NormalizedSample): { tokens: Int32Array; t0: number } {
    return this.model.prepare({ turns: sample.turns }, { template: this.space.template, maxTokens: this.space.maxTokens });
  }

  /** The text the model reads for a sample: its template rendering, or the joined turns without one. */
  renderedText(sample: NormalizedSample): string {
    return this.space.template ? this.model.formatChat(sample.turns) : sample.turns.map((turn) => turn.content).join('\n\n');
  }

  async measure(samples: readonly NormalizedSample[], signal?: AbortSignal): Promise<MeasuredSample[]> {
    const started = performance.now();
    const prepared = samples.map((sample) => this.prepare(sample));
    const out: IndexedSample[] = [];
    try {
      await runIndexPipeline({
        context: this.context,
        session: this.session,
        layer: this.space.layer,
        reducer: new SampleMaximaReducer(this.space.dSae, this.space.minActivation),
        dense: this.space.encodeMode !== 'topk',
        first: 0,
        total: prepared.length,
        samplesPerBatch: 32,
        read: (offset, limit) => prepared.slice(offset, offset + limit),
        store: (_first, batch) => {
          out.push(...batch);
        },
        ...(signal ? { signal } : {}),
      });
    } finally {
      this.seconds += (performance.now() - started) / 1000;
    }
    return out.map((sample) => ({ ...sample, activation: (feature: number) => activationOf(sample.features, feature) }));
  }

  async dispose(): Promise<void> {
    this.context.dispose();
    await this.session.dispose();
    if (this.ownsModel) this.model.dispose();
  }
}

/** g_feature of a sparse sample activation (binary search; 0 when absent). */
export function activationOf(features: SampleFeatures, feature: number): number {
  let low = 0;
  let high = features.features.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const at = features.features[mid]!;
    if (at === feature) return features.values[mid]!;
    if (at < feature) low = mid + 1;
    else high = mid - 1;
  }
  return 0;
}
