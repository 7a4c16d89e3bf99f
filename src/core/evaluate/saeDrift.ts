import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { SaeDriftReport } from '../../shared/evaluateTypes.ts';
import type { FeatureIndexer } from '../features/featureIndexJob.ts';
import { directFeatureIndexer } from '../features/featureIndexJob.ts';
import { FeatureIndexRepository } from '../features/FeatureIndexRepository.ts';
import { resolveIndexDataset } from '../features/resolveFeatureSpace.ts';
import { decodeSampleFeatures } from '../features/SampleFeatures.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import { runSaeCheck } from '../sae/quality/runSaeCheck.ts';
import type { Store } from '../store/Store.ts';

export type { SaeDriftReport };

export interface SaeDriftRequest {
  sae: string;
  /** Model variants (e.g. F16, Q8_0, Q4_K_M of one model); the first is the reference. */
  models: string[];
  dataset: string;
  /** δ for "active". Defaults to 0. */
  threshold?: number;
  layer?: number;
  template?: boolean;
  /** Tokens for the reconstruction metrics. Defaults to 16,384. */
  tokens?: number;
  threads?: number;
  cpu?: boolean;
}

/**
 * How an SAE's features drift across quantized variants of a model: per variant the SAE's fit
 * (normalised MSE, FVU, L0, dead features on the dataset's tokens), FAC of the dataset against the
 * first variant's active features (g > δ), and the mean Jaccard overlap of each sample's active
 * feature set with the first variant's.
 */
export async function saeDrift(store: Store, home: string, request: SaeDriftRequest, control: { signal?: AbortSignal; indexer?: FeatureIndexer; onProgress?: (done: number, total: number) => void } = {}): Promise<SaeDriftReport> {
  const started = performance.now();
  if (request.models.length < 2) throw new FacetError('INVALID_ARGUMENT', 'Give at least two model variants (--models F16,Q8,…): the first is the reference.');
  const threshold = request.threshold ?? 0;
  const dataset = resolveIndexDataset(store, request.dataset);
  const indexer = control.indexer ?? directFeatureIndexer(store, home);
  const repository = new FeatureIndexRepository(store.db);
  const total = request.models.length * 2;
  let done = 0;
  control.onProgress?.(0, total);
  const sets: Map<number, Set<number>>[] = [];
  const variants: SaeDriftReport['variants'] = [];
  for (const model of request.models) {
    throwIfAborted(control.signal);
    const check = await runSaeCheck(store, home, { sae: request.sae, model, dataset: String(dataset.id), maxTokens: request.tokens ?? 16_384, ...(request.layer !== undefined ? { layer: request.layer } : {}), ...(request.template === false ? { template: false } : {}), ...(request.threads !== undefined ? { threads: request.threads } : {}), ...(request.cpu ? { cpuModel: true } : {}) }, control.signal ? { signal: control.signal } : {});
    if (check.metrics === null) throw new FacetError('SAE_SHAPE_MISMATCH', `SAE '${request.sae}' does not fit ${model}: its input size differs from the model's residual.`, { model });
    control.onProgress?.(++done, total);
    const summary = await indexer({ model, sae: request.sae, dataset: String(dataset.id), ...(request.layer !== undefined ? { layer: request.layer } : {}), ...(request.template === false ? { template: false } : {}), ...(request.threads !== undefined ? { threads: request.threads } : {}), ...(request.cpu ? { cpu: true } : {}) }, control.signal ? { signal: control.signal } : {});
    const perSample = new Map<number, Set<number>>();
    for (const row of repository.samples(summary.indexId)) {
      const features = decodeSampleFeatures(row.entries);
      const active = new Set<number>();
      for (let i = 0; i < features.features.length; i++) if (features.values[i]! > threshold) active.add(features.features[i]!);
      perSample.set(row.ordinal, active);
    }
    sets.push(perSample);
    const union = new Set<number>();
    for (const active of perSample.values()) for (const feature of active) union.add(feature);
    const reference = sets[0]!;
    const referenceUnion = new Set<number>();
    for (const active of reference.values()) for (const feature of active) referenceUnion.add(feature);
    let covered = 0;
    for (const feature of referenceUnion) if (union.has(feature)) covered++;
    let jaccardSum = 0;
    for (const [ordinal, active] of perSample) {
      const base = reference.get(ordinal) ?? new Set<number>();
      let both = 0;
      for (const feature of active) if (base.has(feature)) both++;
      const either = active.size + base.size - both;
      jaccardSum += either === 0 ? 1 : both / either;
    }
    variants.push({
      model: check.model.name,
      quantization: check.model.quantization,
      spaceId: summary.spaceId,
      normalisedMse: check.metrics.normalisedMse,
      fractionOfVarianceUnexplained: check.metrics.fractionOfVarianceUnexplained,
      l0: check.metrics.l0,
      deadFeatures: check.metrics.deadFeatures,
      activeFeatures: union.size,
      facAgainstReference: referenceUnion.size === 0 ? null : covered / referenceUnion.size,
      meanJaccard: perSample.size === 0 ? null : jaccardSum / perSample.size,
    });
    control.onProgress?.(++done, total);
  }
  return { sae: request.sae, dataset: dataset.name, threshold, variants, seconds: (performance.now() - started) / 1000 };
}

export const DRIFT_JOB = 'evaluate.drift';

export function createSaeDriftJob(store: Store, home: string): JobDefinition<SaeDriftRequest, never, SaeDriftReport> {
  return {
    kind: DRIFT_JOB,
    title: (request) => `Drift of SAE ${request.sae} across ${request.models.join(', ')} on ${request.dataset}`,
    run: (request, ctx) => saeDrift(store, home, request, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) }),
  };
}
