import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { MissingFeature } from '../../shared/featureTypes.ts';
import { directFeatureIndexer, type FeatureIndexer } from '../features/featureIndexJob.ts';
import { FeatureIndexRepository, type FeatureIndexRecord } from '../features/FeatureIndexRepository.ts';
import { relevantFeaturesOf } from '../interpret/relevantFeaturesOf.ts';
import type { FeatureIndexParams, FeatureIndexSummary } from '../features/indexDataset.ts';
import { featureSpaceParams, resolveFeatureSpace, resolveIndexDataset, type FeatureSpaceParams } from '../features/resolveFeatureSpace.ts';
import type { Store } from '../store/Store.ts';
import type { CoverageRunDetail, CoverageWarning } from '../../shared/coverageTypes.ts';
import { requireCoverageDatasets } from './checkCoverageDatasets.ts';
import { rankMissingFeatures } from './rankMissingFeatures.ts';
import { computeCoverage, type AnchorFeatureStats, type CoverageAtThreshold } from './computeCoverage.ts';
import { CoverageRepository, type CoverageRunRecord } from './CoverageRepository.ts';

export type { MissingFeature };

/** `facet coverage` as plain data. */
export interface CoverageRequest extends FeatureSpaceParams {
  /** Anchor set P (registered dataset name or id). */
  anchor: string;
  /** The set measured against P (the seed). */
  seed: string;
  /** Optional evaluated set C (e.g. synthesized data): the share of missing features it activates. */
  eval?: string;
  /** δ values. Defaults to [0]. */
  thresholds?: number[];
  /** Feature set F; null or absent = every feature. */
  features?: number[] | null;
  /** llama.cpp and onnxruntime threads when indexing. */
  threads?: number;
  /** Index on the CPU even where a GPU is available. */
  cpu?: boolean;
  /** Missing features reported with spans (most frequent in the anchor first). Defaults to 10. */
  topMissing?: number;
  /** Spans per reported missing feature. Defaults to 3. */
  spansPerFeature?: number;
  /** F = the features judged relevant to this task ('facet features judge'), within `features` when both are given. */
  task?: string;
}

export interface DatasetRef {
  dataset: string;
  datasetId: number;
  indexId: number;
  samples: number;
}

export interface CoverageReport {
  runId: number;
  spaceId: number;
  model: string;
  sae: string;
  layer: number;
  encode: string;
  template: boolean;
  kv: 'f16' | 'f32';
  anchor: DatasetRef;
  seed: DatasetRef;
  eval?: DatasetRef;
  /** |F|. */
  featureCount: number;
  /** With a task: F is the features judged relevant to it. */
  task?: string;
  /** |F| for the task. */
  relevantFeatures?: number;
  /** Anchor-active features with no verdict for the task yet (not in F). */
  unjudgedFeatures?: number;
  /** F as ids when it was restricted (a feature list or a task); absent = every feature. */
  featureSet?: number[];
  /** Datasets used in roles they were not registered for (see checkCoverageDatasets). */
  warnings?: CoverageWarning[];
  results: CoverageAtThreshold[];
  /** Missing features at the first δ, ranked, with spans from the anchor set only. */
  topMissing: MissingFeature[];
  indexing: FeatureIndexSummary[];
  computeSeconds: number;
}

export interface CoverageProgress {
  stage: 'index' | 'compute';
  /** Dataset being indexed. */
  dataset?: string;
  /** Within the stage (samples of the dataset being indexed; 0/1 for compute). */
  done: number;
  total: number;
  /** Over the whole run: samples indexed so far plus 1 once computed, of all samples to index plus 1. */
  overallDone: number;
  overallTotal: number;
}

export interface CoverageControl {
  signal?: AbortSignal;
  onProgress?: (progress: CoverageProgress) => void;
  /** How missing indexes are built. Defaults to {@link directFeatureIndexer}; pass `jobFeatureIndexer(jobs)` to run them as jobs. */
  indexer?: FeatureIndexer;
}

/**
 * A whole coverage measurement: resolves the feature space, indexes whichever of the anchor,
 * seed and eval sets are not indexed yet (through `indexer`), computes FAC and its variants at
 * every δ from the index, attaches spans to the top missing features, and saves the run.
 */
export async function measureCoverage(store: Store, home: string, request: CoverageRequest, control: CoverageControl = {}): Promise<CoverageReport> {
  const resolved = await resolveFeatureSpace(store, home, request);
  const thresholds = request.thresholds ?? [0];
  for (const delta of thresholds) {
    if (!(delta >= resolved.space.minActivation)) {
      throw new FacetError('INVALID_ARGUMENT', `Threshold ${delta} lies below the storage floor ${resolved.space.minActivation} (--min-activation): activations at or below it are not stored. Use δ ≥ ${resolved.space.minActivation}.`, { threshold: delta, floor: resolved.space.minActivation });
    }
  }
  const warnings = requireCoverageDatasets(store, request.anchor, request.seed, request.eval);
  const datasets = [request.anchor, request.seed, ...(request.eval !== undefined ? [request.eval] : [])].map((name) => resolveIndexDataset(store, name));
  const indexer = control.indexer ?? directFeatureIndexer(store, home);
  const repository = new FeatureIndexRepository(store.db);
  const indexing: FeatureIndexSummary[] = [];
  const knownSpace = repository.spaceByKey(resolved.space.key);
  const pending = datasets.filter((dataset, i) => datasets.findIndex((other) => other.id === dataset.id) === i && (knownSpace === undefined || repository.index(knownSpace.id, dataset.id)?.state !== 'ready'));
  const overallTotal = pending.reduce((sum, dataset) => sum + dataset.sampleCount, 0) + 1;
  let finishedSamples = 0;
  for (const dataset of pending) {
    throwIfAborted(control.signal);
    const params: FeatureIndexParams = { ...featureSpaceParams(request), dataset: dataset.name };
    if (request.threads !== undefined) params.threads = request.threads;
    if (request.cpu !== undefined) params.cpu = request.cpu;
    control.onProgress?.({ stage: 'index', dataset: dataset.name, done: 0, total: dataset.sampleCount, overallDone: finishedSamples, overallTotal });
    indexing.push(
      await indexer(params, {
        ...(control.signal ? { signal: control.signal } : {}),
        onProgress: (progress) => control.onProgress?.({ stage: 'index', dataset: dataset.name, done: progress.done, total: progress.total, overallDone: finishedSamples + progress.done, overallTotal }),
      }),
    );
    finishedSamples += dataset.sampleCount;
  }
  throwIfAborted(control.signal);
  const space = repository.spaceByKey(resolved.space.key);
  if (space === undefined) throw new FacetError('INTERNAL', 'The feature space vanished after indexing.');
  control.onProgress?.({ stage: 'compute', done: 0, total: 1, overallDone: overallTotal - 1, overallTotal });
  const report = recordCoverageRun(store, request, { spaceId: space.id, saeName: resolved.sae.name, datasets: datasets.map((dataset) => ({ id: dataset.id, name: dataset.name })), warnings, indexing });
  control.onProgress?.({ stage: 'compute', done: 1, total: 1, overallDone: overallTotal, overallTotal });
  return report;
}

/** What {@link recordCoverageRun} needs besides the request: the space and its ready indexes. */
export interface CoverageRunContext {
  spaceId: number;
  saeName: string;
  /** Anchor, seed and (optional) eval, each with a ready index in the space. */
  datasets: { id: number; name: string }[];
  warnings: CoverageWarning[];
  indexing: FeatureIndexSummary[];
}

/**
 * The computing half of {@link measureCoverage}: FAC and variants at every δ from ready indexes,
 * the top missing features (spans from the anchor only), and the saved run.
 */
export function recordCoverageRun(store: Store, request: CoverageRequest, context: CoverageRunContext): CoverageReport {
  const repository = new FeatureIndexRepository(store.db);
  const space = repository.space(context.spaceId);
  if (space === undefined) throw new FacetError('NOT_FOUND', `No feature space ${context.spaceId}.`, { spaceId: context.spaceId });
  const thresholds = request.thresholds ?? [0];
  const { datasets, warnings, indexing } = context;
  const ref = (datasetId: number, name: string): DatasetRef => {
    const index = repository.index(space.id, datasetId);
    if (index === undefined || index.state !== 'ready') throw new FacetError('INTERNAL', `The feature index of '${name}' is not complete after indexing.`);
    return { dataset: name, datasetId, indexId: index.id, samples: index.sampleCount };
  };
  const [anchorSet, seedSet, evalSet] = datasets;
  const anchor = ref(anchorSet!.id, anchorSet!.name);
  const seed = ref(seedSet!.id, seedSet!.name);
  const evaluated = evalSet !== undefined ? ref(evalSet.id, evalSet.name) : undefined;

  let features = request.features ?? null;
  let relevance: { task: string; relevantFeatures: number; unjudgedFeatures: number } | undefined;
  if (request.task !== undefined) {
    const totals = repository.totals(anchor.indexId);
    const anchorActive: number[] = [];
    if (totals !== undefined) for (let f = 0; f < totals.counts.length; f++) if (totals.counts[f]! > 0) anchorActive.push(f);
    const { relevant, unjudged } = relevantFeaturesOf(store, space.id, request.task, anchorActive);
    const within = features === null ? null : new Set(features);
    features = within === null ? relevant : relevant.filter((feature) => within.has(feature));
    relevance = { task: request.task, relevantFeatures: features.length, unjudgedFeatures: unjudged };
  }
  const computed = coverageFromIndex(store, {
    anchorIndexId: anchor.indexId,
    seedIndexId: seed.indexId,
    ...(evaluated ? { evalIndexId: evaluated.indexId } : {}),
    thresholds,
    features,
  });
  const first = computed.results[0]!;
  const stats = computed.anchorStats[0]!;
  const topMissing = rankMissingFeatures(repository, anchor.indexId, first.missing, stats, computed.anchorMaxima, request.topMissing ?? 10, request.spansPerFeature ?? 3);
  const report: Omit<CoverageReport, 'runId'> = {
    spaceId: space.id,
    model: space.modelName,
    sae: context.saeName,
    layer: space.layer,
    encode: space.encodeMode,
    template: space.template,
    kv: space.kv,
    anchor,
    seed,
    ...(evaluated ? { eval: evaluated } : {}),
    featureCount: features?.length ?? space.dSae,
    ...(relevance ?? {}),
    ...(features !== null ? { featureSet: [...features] } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    results: computed.results,
    topMissing,
    indexing,
    computeSeconds: computed.seconds,
  };
  const runId = new CoverageRepository(store.db).insert(space.id, request, report);
  return { runId, ...report };
}


export interface CoverageFromIndexRequest {
  anchorIndexId: number;
  seedIndexId: number;
  evalIndexId?: number;
  thresholds: readonly number[];
  features?: readonly number[] | null;
}

/**
 * FAC and variants from ready indexes of one space: per-set maxima become bitsets; the anchor's
 * column values are read only when some δ lies above the storage floor.
 */
export function coverageFromIndex(store: Store, request: CoverageFromIndexRequest): { results: CoverageAtThreshold[]; anchorStats: AnchorFeatureStats[]; anchorMaxima: Float32Array; seconds: number } {
  const started = performance.now();
  const repository = new FeatureIndexRepository(store.db);
  const load = (indexId: number, role: string): { index: FeatureIndexRecord; totals: NonNullable<ReturnType<FeatureIndexRepository['totals']>> } => {
    const index = repository.indexById(indexId);
    const totals = index?.state === 'ready' ? repository.totals(indexId) : undefined;
    if (index === undefined || totals === undefined) throw new FacetError('NOT_FOUND', `The ${role} feature index ${indexId} does not exist or is not complete. Index the dataset first.`, { indexId });
    return { index, totals };
  };
  const anchor = load(request.anchorIndexId, 'anchor');
  const seed = load(request.seedIndexId, 'seed');
  const evaluated = request.evalIndexId !== undefined ? load(request.evalIndexId, 'eval') : undefined;
  for (const other of [seed, evaluated]) {
    if (other !== undefined && other.index.spaceId !== anchor.index.spaceId) {
      throw new FacetError('INVALID_ARGUMENT', 'The indexes compared belong to different feature spaces (model, layer, SAE or encode mode differ); their features are not comparable.');
    }
  }
  const space = repository.space(anchor.index.spaceId)!;
  const { results, anchorStats } = computeCoverage({
    dSae: space.dSae,
    anchor: { ...anchor.totals, columns: () => repository.columnValues(anchor.index.id) },
    seedMaxima: seed.totals.maxima,
    ...(evaluated ? { evalMaxima: evaluated.totals.maxima } : {}),
    thresholds: request.thresholds,
    features: request.features ?? null,
    floor: space.minActivation,
  });
  return { results, anchorStats, anchorMaxima: anchor.totals.maxima, seconds: (performance.now() - started) / 1000 };
}

/** Saved coverage runs, newest first. */
export function listCoverageRuns(store: Store, limit = 50): CoverageRunRecord<CoverageRequest, Omit<CoverageReport, 'runId'>>[] {
  return new CoverageRepository(store.db).list(limit);
}

/** A saved run as the shells see it: the report without F's id list (it can be large). */
export function coverageRunDetail(run: CoverageRunRecord<CoverageRequest, Omit<CoverageReport, 'runId'>>): CoverageRunDetail {
  const { featureSet: _featureSet, indexing: _indexing, ...result } = run.result;
  return { id: run.id, createdAt: run.createdAt, result: { ...result, runId: run.id } };
}

/** Deletes one saved run (only its row: indexes, datasets and syntheses that used it stay). */
export function deleteCoverageRun(store: Store, id: number): { id: number } {
  if (!new CoverageRepository(store.db).delete(id)) throw new FacetError('NOT_FOUND', `No coverage run ${id}.`, { id });
  return { id };
}

export function getCoverageRun(store: Store, id: number): CoverageRunRecord<CoverageRequest, Omit<CoverageReport, 'runId'>> {
  const run = new CoverageRepository(store.db).get<CoverageRequest, Omit<CoverageReport, 'runId'>>(id);
  if (run === undefined) throw new FacetError('NOT_FOUND', `No coverage run ${id}.`, { id });
  return run;
}
