import type { FeatureSpan, MissingFeature } from '../../shared/featureTypes.ts';
import type { FeatureIndexRepository } from '../features/FeatureIndexRepository.ts';
import type { AnchorFeatureStats } from './computeCoverage.ts';

/** The top `limit` spans of a feature in one index only (strongest first). */
export function indexFeatureSpans(repository: FeatureIndexRepository, indexId: number, feature: number, limit: number): FeatureSpan[] {
  const index = repository.indexById(indexId);
  if (index === undefined) return [];
  return repository
    .spans(indexId, feature)
    .map((span): FeatureSpan => ({ dataset: index.datasetName, datasetId: index.datasetId, ordinal: span.ordinal, value: span.value, peak: span.peak, startToken: span.startToken, prefixText: span.prefixText, peakText: span.peakText }))
    .sort((a, b) => b.value - a.value || a.ordinal - b.ordinal)
    .slice(0, limit);
}

/** Missing features ranked by n_i(δ) in the anchor, then mean g, then id; spans from the anchor index only. */
export function rankMissingFeatures(repository: FeatureIndexRepository, anchorIndexId: number, missing: readonly number[], stats: AnchorFeatureStats, maxima: Float32Array, limit: number, spansPerFeature: number): MissingFeature[] {
  return [...missing]
    .sort((a, b) => stats.counts[b]! - stats.counts[a]! || stats.sums[b]! - stats.sums[a]! || a - b)
    .slice(0, limit)
    .map((feature): MissingFeature => ({
      feature,
      anchorSamples: stats.counts[feature]!,
      anchorMean: stats.counts[feature]! > 0 ? stats.sums[feature]! / stats.counts[feature]! : 0,
      anchorMax: maxima[feature]!,
      spans: indexFeatureSpans(repository, anchorIndexId, feature, spansPerFeature),
    }));
}
