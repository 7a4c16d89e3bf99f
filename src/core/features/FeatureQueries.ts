import { FacetError } from '../../shared/FacetError.ts';
import type { FeatureDetail, FeatureSpan, FeatureTablePage, FeatureTableRow } from '../../shared/featureTypes.ts';
import type { Store } from '../store/Store.ts';
import { FeatureIndexRepository, type FeatureIndexRecord, type FeatureSpaceRecord } from './FeatureIndexRepository.ts';
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
  /** Leave out features no sample activates. Defaults to true. */
  activeOnly?: boolean;
  /** Only these features (e.g. search hits or a verdict filter). */
  only?: readonly number[];
  /** Never these features (e.g. "not judged yet" = all but the judged ones). */
  exclude?: readonly number[];
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

/** Totals over all ready indexes of a space, `[dSae]` each. */
export function spaceTotals(store: Store, spaceId: number): { samples: number; counts: Float64Array; sums: Float64Array; maxima: Float32Array } {
  const repository = repositoryOf(store);
  const space = requireSpace(repository, spaceId);
  const counts = new Float64Array(space.dSae);
  const sums = new Float64Array(space.dSae);
  const maxima = new Float32Array(space.dSae);
  let samples = 0;
  for (const index of readyIndexes(repository, spaceId)) {
    const totals = repository.totals(index.id);
    if (totals === undefined) continue;
    samples += totals.sampleCount;
    for (let f = 0; f < space.dSae; f++) {
      counts[f]! += totals.counts[f]!;
      sums[f]! += totals.sums[f]!;
      if (totals.maxima[f]! > maxima[f]!) maxima[f] = totals.maxima[f]!;
    }
  }
  return { samples, counts, sums, maxima };
}

/** A page of the feature table, sorted in memory (65,536 features sort in milliseconds). */
export function queryFeatureTable(store: Store, query: FeatureTableQuery): FeatureTablePage {
  const totals = spaceTotals(store, query.spaceId);
  const sort = query.sort ?? 'count';
  const descending = query.descending ?? sort !== 'feature';
  const offset = query.offset ?? 0;
  const limit = query.limit ?? 100;
  const only = query.only === undefined ? undefined : new Set(query.only);
  const exclude = new Set(query.exclude ?? []);
  const ids: number[] = [];
  for (let f = 0; f < totals.counts.length; f++) {
    if (only !== undefined && !only.has(f)) continue;
    if (exclude.has(f)) continue;
    if (!(query.activeOnly ?? true) || totals.counts[f]! > 0) ids.push(f);
  }
  const mean = (f: number): number => (totals.counts[f]! > 0 ? totals.sums[f]! / totals.counts[f]! : 0);
  const key: (f: number) => number = sort === 'feature' ? (f) => f : sort === 'count' ? (f) => totals.counts[f]! : sort === 'mean' ? mean : (f) => totals.maxima[f]!;
  ids.sort((a, b) => (descending ? key(b) - key(a) : key(a) - key(b)) || a - b);
  return {
    total: ids.length,
    offset,
    samples: totals.samples,
    rows: ids.slice(offset, offset + limit).map((f) => ({ feature: f, count: totals.counts[f]!, mean: mean(f), max: totals.maxima[f]! })),
  };
}

/** The best spans of one feature over every ready index of the space, highest g first. */
export function getFeatureSpans(store: Store, spaceId: number, feature: number, limit = 10): FeatureSpan[] {
  const repository = repositoryOf(store);
  requireSpace(repository, spaceId);
  const spans: FeatureSpan[] = [];
  for (const index of readyIndexes(repository, spaceId)) {
    for (const span of repository.spans(index.id, feature)) {
      spans.push({ dataset: index.datasetName, datasetId: index.datasetId, ordinal: span.ordinal, value: span.value, peak: span.peak, startToken: span.startToken, prefixText: span.prefixText, peakText: span.peakText });
    }
  }
  spans.sort((a, b) => b.value - a.value || a.datasetId - b.datasetId || a.ordinal - b.ordinal);
  return spans.slice(0, limit);
}

/** One feature: totals, a histogram of its sample activations and its top spans. */
export function getFeatureDetail(store: Store, spaceId: number, feature: number, options: { bins?: number; spans?: number } = {}): FeatureDetail {
  const repository = repositoryOf(store);
  const space = requireSpace(repository, spaceId);
  if (!Number.isInteger(feature) || feature < 0 || feature >= space.dSae) {
    throw new FacetError('INVALID_ARGUMENT', `Feature ${feature} does not exist: this SAE has features 0..${space.dSae - 1}.`, { feature, dSae: space.dSae });
  }
  const bins = options.bins ?? 20;
  const values: number[] = [];
  let samples = 0;
  for (const index of readyIndexes(repository, spaceId)) {
    samples += index.sampleCount;
    const chunk = repository.columnChunk(index.id, feature);
    if (chunk === undefined) continue;
    const k = feature - chunk.firstFeature;
    for (let e = chunk.starts[k]!; e < chunk.starts[k + 1]!; e++) values.push(chunk.values[e]!);
  }
  let max = 0;
  let sum = 0;
  for (const value of values) {
    sum += value;
    if (value > max) max = value;
  }
  const low = space.minActivation;
  const width = max > low ? (max - low) / bins : 1;
  const edges = Array.from({ length: bins + 1 }, (_, b) => low + b * width);
  const counts = new Array<number>(bins).fill(0);
  for (const value of values) counts[Math.min(bins - 1, Math.max(0, Math.ceil((value - low) / width) - 1))]! += 1;
  return {
    spaceId,
    feature,
    samples,
    count: values.length,
    mean: values.length > 0 ? sum / values.length : 0,
    max,
    histogram: { edges, counts },
    spans: getFeatureSpans(store, spaceId, feature, options.spans ?? 10),
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
