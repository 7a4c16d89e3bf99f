import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import { directFeatureIndexer, type FeatureIndexer } from '../features/featureIndexJob.ts';
import { FeatureIndexRepository, type FeatureSpaceRecord } from '../features/FeatureIndexRepository.ts';
import type { FeatureIndexParams, FeatureIndexSummary } from '../features/indexDataset.ts';
import { resolveFeatureSpace, resolveIndexDataset, type FeatureSpaceParams, type ResolvedFeatureSpace } from '../features/resolveFeatureSpace.ts';
import type { LoadedSae } from '../sae/loaders/SaeLoader.ts';
import { SaeRegistry } from '../sae/SaeRegistry.ts';
import type { Store } from '../store/Store.ts';
import type { CompareDatasetRef, CompareParams, CompareRunView, CompareScores, CompareSpaceRef, CompareSummary } from '../../shared/compareTypes.ts';
import { CompareRepository, type StoredPartner } from './CompareRepository.ts';
import { bestPairs, matchFeatures } from './matchFeatures.ts';
import { sharedFeatureMap } from './sharedFeatureMap.ts';
import { choosePairs, spaceSimilarity, type DecoderRows, type SpaceSimilarity } from './spaceSimilarity.ts';
import { loadSparseSampleRows } from './SparseSampleRows.ts';

/** The matching method recorded with each run (part of the request key). */
export const COMPARE_METHOD = 'sparse-coactivation-pearson/1';

/** `facet compare` as plain data. */
export interface CompareRequest {
  a: FeatureSpaceParams;
  b: FeatureSpaceParams;
  /** Registered datasets (name or id), indexed in both spaces (those missing are indexed first). */
  datasets: readonly string[];
  /** Nonzero samples a feature needs to take part. Defaults to 5. */
  minSupport?: number;
  /** Partners kept per feature of A. Defaults to 3. */
  top?: number;
  /** g at or below this counts as zero (for dense-relu spaces: δ). Defaults to 0. */
  threshold?: number;
  /** Pairs SVCCA and RSA use at most (a seeded random subset). Defaults to 256. */
  maxPairs?: number;
  threads?: number;
  cpu?: boolean;
}

export interface CompareReport extends CompareRunView {
  /** Indexes built for this request (empty when everything was indexed already). */
  indexing: FeatureIndexSummary[];
}

export interface CompareProgress {
  stage: 'index' | 'match' | 'similarity';
  dataset?: string;
  done: number;
  total: number;
  overallDone: number;
  overallTotal: number;
}

export interface CompareControl {
  signal?: AbortSignal;
  onProgress?: (progress: CompareProgress) => void;
  indexer?: FeatureIndexer;
  jobId?: string;
}

/** Units of overall progress given to matching and to the similarity scores, after the indexed samples. */
const MATCH_UNITS = 100;

/**
 * Matches the features of space A to those of space B over the same datasets: indexes whatever
 * dataset is not indexed in a space yet, reads both spaces' per-sample sparse g, finds best
 * partners by Pearson correlation from sparse co-activation sums ({@link matchFeatures}), scores
 * how shared the spaces are (SVCCA and RSA with nulls, {@link spaceSimilarity}) and stores the run.
 * The same request (spaces, datasets, method, parameters) answers from the stored run.
 */
export async function compareSpaces(store: Store, home: string, request: CompareRequest, control: CompareControl = {}): Promise<CompareReport> {
  const params = compareParams(request);
  const resolvedA = await resolveFeatureSpace(store, home, request.a);
  const resolvedB = await resolveFeatureSpace(store, home, request.b);
  if (request.datasets.length === 0) throw new FacetError('INVALID_ARGUMENT', 'Give at least one dataset to match over (--dataset NAME); it is indexed in both spaces.');
  const datasets = request.datasets.map((name) => resolveIndexDataset(store, name));
  const unique = [...new Map(datasets.map((d) => [d.id, d])).values()].sort((x, y) => x.id - y.id);
  const key = JSON.stringify({ a: resolvedA.space.key, b: resolvedB.space.key, datasets: unique.map((d) => d.id), method: COMPARE_METHOD, params });
  const runs = new CompareRepository(store.db);
  const previous = runs.byKey<CompareSummary>(key);
  if (previous?.state === 'done') return compareReportOf(store, previous.id, { reused: true });

  const repository = new FeatureIndexRepository(store.db);
  const indexer = control.indexer ?? directFeatureIndexer(store, home);
  const pending: { resolved: ResolvedFeatureSpace; params: FeatureSpaceParams; dataset: (typeof unique)[number] }[] = [];
  for (const [resolved, spaceParams] of [[resolvedA, request.a], [resolvedB, request.b]] as const) {
    const known = repository.spaceByKey(resolved.space.key);
    for (const dataset of unique) {
      if (known !== undefined && repository.index(known.id, dataset.id)?.state === 'ready') continue;
      if (pending.some((p) => p.resolved.space.key === resolved.space.key && p.dataset.id === dataset.id)) continue;
      pending.push({ resolved, params: spaceParams, dataset });
    }
  }
  const overallTotal = pending.reduce((sum, p) => sum + p.dataset.sampleCount, 0) + 2 * MATCH_UNITS;
  let finished = 0;
  const indexing: FeatureIndexSummary[] = [];
  for (const job of pending) {
    throwIfAborted(control.signal);
    const indexParams: FeatureIndexParams = { ...job.params, dataset: job.dataset.name };
    if (request.threads !== undefined) indexParams.threads = request.threads;
    if (request.cpu !== undefined) indexParams.cpu = request.cpu;
    control.onProgress?.({ stage: 'index', dataset: job.dataset.name, done: 0, total: job.dataset.sampleCount, overallDone: finished, overallTotal });
    indexing.push(
      await indexer(indexParams, {
        ...(control.signal ? { signal: control.signal } : {}),
        onProgress: (progress) => control.onProgress?.({ stage: 'index', dataset: job.dataset.name, done: progress.done, total: progress.total, overallDone: finished + progress.done, overallTotal }),
      }),
    );
    finished += job.dataset.sampleCount;
  }
  throwIfAborted(control.signal);
  const spaceA = repository.spaceByKey(resolvedA.space.key);
  const spaceB = repository.spaceByKey(resolvedB.space.key);
  if (spaceA === undefined || spaceB === undefined) throw new FacetError('INTERNAL', 'A feature space vanished after indexing.');
  const refs: CompareDatasetRef[] = unique.map((dataset) => {
    const indexA = repository.index(spaceA.id, dataset.id);
    const indexB = repository.index(spaceB.id, dataset.id);
    if (indexA?.state !== 'ready' || indexB?.state !== 'ready') throw new FacetError('INTERNAL', `The feature index of '${dataset.name}' is not complete in both spaces after indexing.`);
    if (indexA.sampleCount !== indexB.sampleCount) {
      throw new FacetError('INTERNAL', `Dataset '${dataset.name}' has ${indexA.sampleCount} indexed samples in space A and ${indexB.sampleCount} in space B; remove the older index ('facet features remove') and compare again.`);
    }
    return { datasetId: dataset.id, dataset: dataset.name, samples: indexA.sampleCount, indexA: indexA.id, indexB: indexB.id };
  });
  const run = runs.ensure({ key, jobId: control.jobId ?? null, spaceAId: spaceA.id, spaceBId: spaceB.id, datasets: refs, method: COMPARE_METHOD, params });

  const started = performance.now();
  const rowsA = loadSparseSampleRows(repository, refs.map((r) => r.indexA), spaceA.dSae, params.threshold);
  const rowsB = loadSparseSampleRows(repository, refs.map((r) => r.indexB), spaceB.dSae, params.threshold);
  if (rowsA.sampleCount < 3) {
    throw new FacetError('COMPARE_TOO_FEW_SAMPLES', `Matching needs at least 3 shared samples; ${refs.map((r) => `'${r.dataset}'`).join(', ')} hold${refs.length === 1 ? 's' : ''} ${rowsA.sampleCount}. Add datasets with --dataset.`, { samples: rowsA.sampleCount });
  }
  const matchBase = overallTotal - 2 * MATCH_UNITS;
  const matches = matchFeatures(rowsA, rowsB, {
    minSupport: params.minSupport,
    top: params.top,
    ...(control.signal ? { signal: control.signal } : {}),
    onProgress: (done, total) => control.onProgress?.({ stage: 'match', done, total, overallDone: matchBase + Math.floor((MATCH_UNITS * done) / Math.max(1, total)), overallTotal }),
  });
  throwIfAborted(control.signal);
  control.onProgress?.({ stage: 'similarity', done: 0, total: 1, overallDone: matchBase + MATCH_UNITS, overallTotal });
  const pairs = bestPairs(matches);
  const chosen = choosePairs(pairs, params.maxPairs, 12);
  const registry = new SaeRegistry(store, home);
  // one SAE in memory at a time, keeping only the decoder rows the scores use
  const decoders = {
    a: decoderRows(await registry.load(resolvedA.sae), chosen.map((p) => p.a)),
    b: decoderRows(await registry.load(resolvedB.sae), chosen.map((p) => p.b)),
  };
  throwIfAborted(control.signal);
  const similarity = spaceSimilarity(chosen, rowsA, rowsB, decoders, { maxPairs: chosen.length });
  const summary: CompareSummary = {
    spaceA: spaceRef(spaceA, resolvedA.sae.name),
    spaceB: spaceRef(spaceB, resolvedB.sae.name),
    samples: rowsA.sampleCount,
    supportedA: matches.supportedA.length,
    supportedB: matches.supportedB,
    pairCount: pairs.length,
    mutual: pairs.filter((p) => p.mutual).length,
    meanCorrelation: pairs.length === 0 ? null : pairs.reduce((sum, p) => sum + p.correlation, 0) / pairs.length,
    decoder: similarity.decoder === null ? null : scoresOf(similarity.decoder),
    profiles: scoresOf(similarity.profiles),
    pairsUsed: similarity.pairsUsed,
    nullRepeats: similarity.nullRepeats,
    map: sharedFeatureMap(pairs, rowsA, rowsB),
    pairUpdates: matches.pairUpdates,
    seconds: (performance.now() - started) / 1000,
  };
  const partners: StoredPartner[] = [];
  for (let k = 0; k < matches.supportedA.length; k++) {
    const a = matches.supportedA[k]!;
    for (let rank = 0; rank < matches.top; rank++) {
      const b = matches.partners[k * matches.top + rank]!;
      if (b < 0) break;
      partners.push({ a, rank, b, correlation: matches.correlations[k * matches.top + rank]!, mutual: rank === 0 && matches.bestOfB[b] === a });
    }
  }
  throwIfAborted(control.signal);
  runs.finish(run.id, partners, summary);
  control.onProgress?.({ stage: 'similarity', done: 1, total: 1, overallDone: overallTotal, overallTotal });
  return { ...compareReportOf(store, run.id, { reused: false }), indexing };
}

/** A stored, finished run as a report. */
export function compareReportOf(store: Store, runId: number, options: { reused: boolean; pairs?: boolean }): CompareReport {
  const runs = new CompareRepository(store.db);
  const run = runs.get<CompareSummary>(runId);
  if (run === undefined || run.state !== 'done' || run.summary === null) throw new FacetError('NOT_FOUND', `No finished comparison run ${runId}. List runs with 'facet compare runs'.`, { runId });
  const pairs = options.pairs === false ? [] : runs.bestPartners(runId).map((p) => ({ a: p.a, b: p.b, correlation: p.correlation, mutual: p.mutual }));
  return { ...run.summary, runId, method: run.method, params: run.params, datasets: run.datasets, pairs, reused: options.reused, createdAt: run.createdAt, indexing: [] };
}

export function compareParams(request: Pick<CompareRequest, 'minSupport' | 'top' | 'threshold' | 'maxPairs'>): CompareParams {
  const minSupport = request.minSupport ?? 5;
  const top = request.top ?? 3;
  const threshold = request.threshold ?? 0;
  const maxPairs = request.maxPairs ?? 256;
  if (!Number.isInteger(minSupport) || minSupport < 2) throw new FacetError('INVALID_ARGUMENT', `--min-support must be an integer ≥ 2 (got ${minSupport}): a correlation needs two nonzero samples.`);
  if (!Number.isInteger(top) || top < 1 || top > 100) throw new FacetError('INVALID_ARGUMENT', `--top must be an integer from 1 to 100 (got ${top}).`);
  if (!Number.isFinite(threshold) || threshold < 0) throw new FacetError('INVALID_ARGUMENT', `--threshold must be a number ≥ 0 (got ${threshold}).`);
  if (!Number.isInteger(maxPairs) || maxPairs < 4 || maxPairs > 1024) throw new FacetError('INVALID_ARGUMENT', `--max-pairs must be an integer from 4 to 1024 (got ${maxPairs}).`);
  return { minSupport, top, threshold, maxPairs };
}

function spaceRef(space: FeatureSpaceRecord, saeName: string): CompareSpaceRef {
  return { id: space.id, model: space.modelName, sae: saeName, layer: space.layer, encode: space.encodeMode, template: space.template, dSae: space.dSae };
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function scoresOf(similarity: SpaceSimilarity['profiles']): CompareScores {
  return { svcca: finiteOrNull(similarity.svcca.value), svccaNull: finiteOrNull(similarity.svcca.null), rsa: finiteOrNull(similarity.rsa.value), rsaNull: finiteOrNull(similarity.rsa.null) };
}

/** Copies of the decoder rows of `features` (tied SAEs: columns of W_enc), so the SAE's weights can be released. */
export function decoderRows(sae: LoadedSae, features: readonly number[]): DecoderRows {
  const { dIn, dSae } = sae.config;
  const wDec = sae.weights.wDec;
  const wEnc = sae.weights.wEnc;
  const rows = new Map<number, Float32Array>();
  for (const feature of features) {
    if (rows.has(feature)) continue;
    if (wDec !== null) rows.set(feature, wDec.slice(feature * dIn, feature * dIn + dIn));
    else rows.set(feature, Float32Array.from({ length: dIn }, (_, i) => wEnc[i * dSae + feature]!));
  }
  return {
    dIn,
    row: (feature) => {
      const row = rows.get(feature);
      if (row === undefined) throw new FacetError('INTERNAL', `Decoder row ${feature} was not kept for the similarity scores.`);
      return row;
    },
  };
}
