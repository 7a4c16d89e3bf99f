import { FacetError } from '../../shared/FacetError.ts';
import type { FeatureDatasetRef, FeatureDatasetStats, FeatureDetail, FeatureSpan, FeatureTablePage, FeatureTableRow } from '../../shared/featureTypes.ts';
import type { Store } from '../store/Store.ts';
import { FeatureIndexRepository, type FeatureIndexRecord, type FeatureIndexTotals, type FeatureSpaceRecord } from './FeatureIndexRepository.ts';
import { decodeSampleFeatures } from './SampleFeatures.ts';

export type { FeatureDetail, FeatureSpan, FeatureTablePage, FeatureTableRow };

/** A feature space with the datasets indexed in it. */
export interface FeatureSpaceSummary extends FeatureSpaceRecord {
  indexes: FeatureIndexRecord[];
}

export interface FeatureTableQuery {
  spaceId: number;
  /** Defaults to `count`. */
  sort?: 'feature' | 'count' | 'mean' | 'max';
  /** Defaults to true (largest first), except for `feature`. */
  descending?: boolean;
  /** Defaults to 0. */
  offset?: number;
  /** Defaults to 100. */
  limit?: number;
  /** Leave out features no sample (of the scope) activates. Defaults to true. */
  activeOnly?: boolean;
  /** Only these features (e.g. search hits or a verdict filter). */
  only?: readonly number[];
  /** Never these features (e.g. "not judged yet" = all but the judged ones). */
  exclude?: readonly number[];
  /** Count, mean, max, the sort and `activeOnly` over this dataset only (default: every ready dataset of the space). */
  dataset?: number;
  /** Only features some sample of this dataset activates … */
  activeIn?: number;
  /** … and no sample of this one does ("active in anchor, absent in seed"). */
  absentIn?: number;
}

function repositoryOf(store: Store): FeatureIndexRepository {
  return new FeatureIndexRepository(store.db);
}

function requireSpace(repository: FeatureIndexRepository, spaceId: number): FeatureSpaceRecord {
  const space = repository.space(spaceId);
  if (space === undefined) throw new FacetError('NOT_FOUND', `No feature space with id ${spaceId}. List them with 'facet features list'.`, { spaceId });
  return space;
}

function readyIndexes(repository: FeatureIndexRepository, spaceId: number): FeatureIndexRecord[] {
  return repository.indexesOfSpace(spaceId).filter((index) => index.state === 'ready');
}

/** Every feature space and its indexes (ready or not). */
export function listFeatureSpaces(store: Store): FeatureSpaceSummary[] {
  const repository = repositoryOf(store);
  return repository.listSpaces().map((space) => ({ ...space, indexes: repository.indexesOfSpace(space.id) }));
}

/** A ready index with its per-feature totals (views on the stored blobs, no copy). */
interface IndexWithTotals {
  index: FeatureIndexRecord;
  totals: FeatureIndexTotals;
}

function readyTotals(repository: FeatureIndexRepository, spaceId: number): IndexWithTotals[] {
  const out: IndexWithTotals[] = [];
  for (const index of readyIndexes(repository, spaceId)) {
    const totals = repository.totals(index.id);
    if (totals !== undefined) out.push({ index, totals });
  }
  return out;
}

/** The ready index of `datasetId` among `indexes`, or a coded error naming what to do. */
function requireDatasetIndex<T extends { index: FeatureIndexRecord }>(indexes: readonly T[], datasetId: number, spaceId: number, field: string): T {
  const found = indexes.find((entry) => entry.index.datasetId === datasetId);
  if (found === undefined) {
    const names = indexes.map((entry) => `${entry.index.datasetName ?? entry.index.datasetId} (${entry.index.datasetId})`).join(', ');
    throw new FacetError('INVALID_ARGUMENT', `Dataset ${datasetId} (${field}) is not indexed in feature space ${spaceId}; its indexed datasets are ${names === '' ? 'none yet' : names}. Pick one of them, or index the dataset in this space first.`, { field, datasetId, spaceId });
  }
  return found;
}

function datasetRef(index: FeatureIndexRecord): FeatureDatasetRef {
  return { datasetId: index.datasetId, name: index.datasetName, role: index.datasetRole, samples: index.sampleCount };
}

function statsOf(totals: FeatureIndexTotals, feature: number): FeatureDatasetStats {
  const count = totals.counts[feature]!;
  return { count, mean: count > 0 ? totals.sums[feature]! / count : 0, max: totals.maxima[feature]! };
}

/** Totals over all ready indexes of a space, `[dSae]` each. */
export function spaceTotals(store: Store, spaceId: number): { samples: number; counts: Float64Array; sums: Float64Array; maxima: Float32Array } {
  const repository = repositoryOf(store);
  const space = requireSpace(repository, spaceId);
  return pooledTotals(space.dSae, readyTotals(repository, spaceId));
}

function pooledTotals(dSae: number, indexes: readonly IndexWithTotals[]): { samples: number; counts: Float64Array; sums: Float64Array; maxima: Float32Array } {
  const counts = new Float64Array(dSae);
  const sums = new Float64Array(dSae);
  const maxima = new Float32Array(dSae);
  let samples = 0;
  for (const { totals } of indexes) {
    samples += totals.sampleCount;
    for (let f = 0; f < dSae; f++) {
      counts[f]! += totals.counts[f]!;
      sums[f]! += totals.sums[f]!;
      if (totals.maxima[f]! > maxima[f]!) maxima[f] = totals.maxima[f]!;
    }
  }
  return { samples, counts, sums, maxima };
}

/**
 * A page of the feature table, sorted in memory: each ready index stores its per-feature counts,
 * sums and maxima as three blobs, so a page costs reading those blobs and one pass over the
 * features (65,536 features × 3 datasets in about 20 ms; see `npm run bench:features`).
 * Rows carry the numbers of every ready dataset (`byDataset`).
 */
export function queryFeatureTable(store: Store, query: FeatureTableQuery): FeatureTablePage {
  const repository = repositoryOf(store);
  const space = requireSpace(repository, query.spaceId);
  const indexes = readyTotals(repository, query.spaceId);
  const scope = query.dataset === undefined ? indexes : [requireDatasetIndex(indexes, query.dataset, query.spaceId, 'dataset')];
  const activeIn = query.activeIn === undefined ? undefined : requireDatasetIndex(indexes, query.activeIn, query.spaceId, 'activeIn').totals.counts;
  const absentIn = query.absentIn === undefined ? undefined : requireDatasetIndex(indexes, query.absentIn, query.spaceId, 'absentIn').totals.counts;
  const totals = scope.length === 1 ? { samples: scope[0]!.totals.sampleCount, counts: scope[0]!.totals.counts, sums: scope[0]!.totals.sums, maxima: scope[0]!.totals.maxima } : pooledTotals(space.dSae, scope);
  const sort = query.sort ?? 'count';
  const descending = query.descending ?? sort !== 'feature';
  const offset = query.offset ?? 0;
  const limit = query.limit ?? 100;
  const only = query.only === undefined ? undefined : new Set(query.only);
  const exclude = new Set(query.exclude ?? []);
  const activeOnly = query.activeOnly ?? true;
  const ids: number[] = [];
  for (let f = 0; f < space.dSae; f++) {
    if (only !== undefined && !only.has(f)) continue;
    if (exclude.has(f)) continue;
    if (activeIn !== undefined && activeIn[f] === 0) continue;
    if (absentIn !== undefined && absentIn[f] !== 0) continue;
    if (!activeOnly || totals.counts[f]! > 0) ids.push(f);
  }
  const mean = (f: number): number => (totals.counts[f]! > 0 ? totals.sums[f]! / totals.counts[f]! : 0);
  const key: (f: number) => number = sort === 'feature' ? (f) => f : sort === 'count' ? (f) => totals.counts[f]! : sort === 'mean' ? mean : (f) => totals.maxima[f]!;
  ids.sort((a, b) => (descending ? key(b) - key(a) : key(a) - key(b)) || a - b);
  return {
    total: ids.length,
    offset,
    samples: totals.samples,
    datasets: indexes.map(({ index }) => datasetRef(index)),
    dataset: query.dataset ?? null,
    rows: ids.slice(offset, offset + limit).map((f) => ({ feature: f, count: totals.counts[f]!, mean: mean(f), max: totals.maxima[f]!, byDataset: indexes.map(({ totals: own }) => statsOf(own, f)) })),
  };
}

/**
 * Stored spans with the same text (the tokens before the peak and the peak token) are one span:
 * the first (highest g) stays, the others are listed in its `duplicates`. Input highest g first.
 */
export function dedupeSpans(spans: readonly FeatureSpan[]): FeatureSpan[] {
  const kept = new Map<string, FeatureSpan>();
  for (const span of spans) {
    const key = `${span.prefixText}\u0000${span.peakText}`;
    const first = kept.get(key);
    if (first === undefined) kept.set(key, { ...span, duplicates: [] });
    else first.duplicates!.push({ dataset: span.dataset, datasetId: span.datasetId, ordinal: span.ordinal, value: span.value });
  }
  return [...kept.values()];
}

/**
 * The best spans of one feature over the ready indexes of the space (or of `datasetId` only),
 * highest g first, spans of identical text merged ({@link dedupeSpans}).
 */
export function getFeatureSpans(store: Store, spaceId: number, feature: number, limit = 10, options: { datasetId?: number } = {}): FeatureSpan[] {
  const repository = repositoryOf(store);
  requireSpace(repository, spaceId);
  const indexes = readyIndexes(repository, spaceId);
  const scope = options.datasetId === undefined ? indexes : [requireDatasetIndex(indexes.map((index) => ({ index })), options.datasetId, spaceId, 'dataset').index];
  const spans: FeatureSpan[] = [];
  for (const index of scope) {
    for (const span of repository.spans(index.id, feature)) {
      spans.push({ dataset: index.datasetName, datasetId: index.datasetId, ordinal: span.ordinal, value: span.value, peak: span.peak, startToken: span.startToken, prefixText: span.prefixText, peakText: span.peakText });
    }
  }
  spans.sort((a, b) => b.value - a.value || a.datasetId - b.datasetId || a.ordinal - b.ordinal);
  return dedupeSpans(spans).slice(0, limit);
}

/** One feature: totals (pooled or of one dataset, and per dataset), a histogram of its sample activations and its top spans. */
export function getFeatureDetail(store: Store, spaceId: number, feature: number, options: { bins?: number; spans?: number; dataset?: number } = {}): FeatureDetail {
  const repository = repositoryOf(store);
  const space = requireSpace(repository, spaceId);
  if (!Number.isInteger(feature) || feature < 0 || feature >= space.dSae) {
    throw new FacetError('INVALID_ARGUMENT', `Feature ${feature} does not exist: this SAE has features 0..${space.dSae - 1}.`, { feature, dSae: space.dSae });
  }
  const bins = options.bins ?? 20;
  const indexes = readyTotals(repository, spaceId);
  const scope = options.dataset === undefined ? indexes : [requireDatasetIndex(indexes, options.dataset, spaceId, 'dataset')];
  const perDataset: { datasetId: number; values: Float32Array }[] = [];
  let samples = 0;
  for (const { index } of scope) {
    samples += index.sampleCount;
    const chunk = repository.columnChunk(index.id, feature);
    if (chunk === undefined) {
      perDataset.push({ datasetId: index.datasetId, values: new Float32Array(0) });
      continue;
    }
    const k = feature - chunk.firstFeature;
    perDataset.push({ datasetId: index.datasetId, values: chunk.values.subarray(chunk.starts[k]!, chunk.starts[k + 1]!) });
  }
  let max = 0;
  let sum = 0;
  let count = 0;
  for (const { values } of perDataset) {
    for (const value of values) {
      sum += value;
      if (value > max) max = value;
    }
    count += values.length;
  }
  const low = space.minActivation;
  const width = max > low ? (max - low) / bins : 1;
  const edges = Array.from({ length: bins + 1 }, (_, b) => low + b * width);
  const binOf = (value: number): number => Math.min(bins - 1, Math.max(0, Math.ceil((value - low) / width) - 1));
  const counts = new Array<number>(bins).fill(0);
  const byDataset = perDataset.map(({ datasetId, values }) => {
    const own = new Array<number>(bins).fill(0);
    for (const value of values) {
      const b = binOf(value);
      own[b]! += 1;
      counts[b]! += 1;
    }
    return { datasetId, counts: own };
  });
  return {
    spaceId,
    feature,
    samples,
    count,
    mean: count > 0 ? sum / count : 0,
    max,
    histogram: { edges, counts, byDataset },
    spans: getFeatureSpans(store, spaceId, feature, options.spans ?? 10, options.dataset === undefined ? {} : { datasetId: options.dataset }),
    dataset: options.dataset ?? null,
    datasets: indexes.map(({ index, totals }) => ({ ...datasetRef(index), ...statsOf(totals, feature) })),
  };
}

/** One sample's stored activations in a space: features with g_i and peak position, strongest first. */
export function getSampleActivations(store: Store, spaceId: number, datasetId: number, ordinal: number): { feature: number; value: number; peak: number }[] {
  const repository = repositoryOf(store);
  requireSpace(repository, spaceId);
  const index = repository.index(spaceId, datasetId);
  const row = index === undefined ? undefined : repository.sample(index.id, ordinal);
  if (row === undefined) throw new FacetError('NOT_FOUND', `Sample ${ordinal} of dataset ${datasetId} is not indexed in feature space ${spaceId}.`, { spaceId, datasetId, ordinal });
  const sample = decodeSampleFeatures(row.entries);
  return Array.from(sample.features, (feature, i) => ({ feature, value: sample.values[i]!, peak: sample.peaks[i]! })).sort((a, b) => b.value - a.value || a.feature - b.feature);
}

/** Deletes one dataset's index (its samples, columns and spans); the space stays. */
export function removeFeatureIndex(store: Store, indexId: number): void {
  const repository = repositoryOf(store);
  if (repository.indexById(indexId) === undefined) throw new FacetError('NOT_FOUND', `No feature index ${indexId}.`, { indexId });
  repository.removeIndex(indexId);
}
