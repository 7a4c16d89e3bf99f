import { FacetError } from '../../shared/FacetError.ts';
import type { CoverageAtThreshold } from '../../shared/featureTypes.ts';
import { FeatureBitset } from './FeatureBitset.ts';

export type { CoverageAtThreshold };

/** Entries of consecutive features grouped by feature (see `feature_index_columns`). */
export interface CoverageColumnChunk {
  firstFeature: number;
  featureCount: number;
  /** [featureCount + 1] offsets into `values`. */
  starts: Uint32Array;
  /** Stored g values (> the storage floor), any order within a feature. */
  values: Float32Array;
}

/** What coverage needs of the anchor set P. */
export interface AnchorCoverageData {
  sampleCount: number;
  /** max over P of g_i, [dSae]. */
  maxima: Float32Array;
  /** Samples with g_i stored (g_i > floor), [dSae]. */
  counts: Uint32Array;
  /** Sum of the stored g_i, [dSae]. */
  sums: Float64Array;
  /** Stored values per feature; read only when a threshold lies above the floor. */
  columns: () => Iterable<CoverageColumnChunk>;
}

export interface CoverageInput {
  dSae: number;
  anchor: AnchorCoverageData;
  /** max over the seed set of g_i, [dSae]. */
  seedMaxima: Float32Array;
  /** max over the evaluated (e.g. synthesized) set of g_i, [dSae]. */
  evalMaxima?: Float32Array;
  /** δ values; a feature is activated by x when g_i(x) > δ (strictly). */
  thresholds: readonly number[];
  /** The feature set F (e.g. task-relevant features); null = all dSae features. */
  features?: readonly number[] | null;
  /** Values at or below this were not stored; thresholds must not be lower. Defaults to 0. */
  floor?: number;
}

/** Per-feature anchor statistics at one δ, for ranking missing features. */
export interface AnchorFeatureStats {
  /** n_i(δ), [dSae]. */
  counts: Uint32Array;
  /** Σ g_i over the anchor samples with g_i > δ, [dSae]. */
  sums: Float64Array;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

/**
 * FAC and its variants at each δ from per-set maxima (as bitsets) and the anchor's per-feature
 * values; no per-feature query. Cost: O(dSae) per set and δ, plus one pass over the anchor's
 * stored values when some δ lies above the storage floor.
 */
export function computeCoverage(input: CoverageInput): { results: CoverageAtThreshold[]; anchorStats: AnchorFeatureStats[] } {
  const { dSae, anchor, thresholds } = input;
  const floor = input.floor ?? 0;
  if (thresholds.length === 0) throw new FacetError('INVALID_ARGUMENT', 'Give at least one threshold δ.');
  for (const delta of thresholds) {
    if (!Number.isFinite(delta)) throw new FacetError('INVALID_ARGUMENT', `Threshold ${delta} is not a number.`);
    if (delta < floor) {
      throw new FacetError('INVALID_ARGUMENT', `Threshold ${delta} lies below the index's storage floor ${floor} (activations ≤ ${floor} were not stored). Use δ ≥ ${floor}, or index again with a lower floor.`, { threshold: delta, floor });
    }
  }
  for (const [name, array] of [['anchor', anchor.maxima], ['seed', input.seedMaxima], ['eval', input.evalMaxima]] as const) {
    if (array !== undefined && array.length !== dSae) throw new FacetError('INTERNAL', `The ${name} maxima have ${array.length} entries, not dSae = ${dSae}.`);
  }
  let within: FeatureBitset | null = null;
  if (input.features !== undefined && input.features !== null) {
    for (const id of input.features) {
      if (!Number.isInteger(id) || id < 0 || id >= dSae) throw new FacetError('INVALID_ARGUMENT', `Feature id ${id} is outside 0..${dSae - 1} (this SAE has ${dSae} features).`, { feature: id, dSae });
    }
    within = FeatureBitset.fromIds(dSae, input.features);
  }

  const anchorSets = thresholds.map((delta) => FeatureBitset.above(anchor.maxima, delta, within));
  // n_i(δ) and sums: exact from the totals at δ = floor, else one pass over the stored values
  const stats: AnchorFeatureStats[] = thresholds.map((delta) => (delta === floor ? { counts: anchor.counts, sums: anchor.sums } : { counts: new Uint32Array(dSae), sums: new Float64Array(dSae) }));
  const above = thresholds.map((delta, j) => ({ delta, j })).filter(({ delta }) => delta !== floor);
  if (above.length > 0) {
    const lowest = Math.min(...above.map(({ delta }) => delta));
    const candidates = FeatureBitset.above(anchor.maxima, lowest, within);
    for (const chunk of anchor.columns()) {
      for (let k = 0; k < chunk.featureCount; k++) {
        const feature = chunk.firstFeature + k;
        if (!candidates.has(feature)) continue;
        const end = chunk.starts[k + 1]!;
        for (const { delta, j } of above) {
          const { counts, sums } = stats[j]!;
          countAbove(chunk.values, chunk.starts[k]!, end, delta, counts, sums, feature);
        }
      }
    }
  }

  const results = thresholds.map((delta, j): CoverageAtThreshold => {
    const anchorSet = anchorSets[j]!;
    const seedSet = FeatureBitset.above(input.seedMaxima, delta, within);
    const coveredSet = anchorSet.and(seedSet);
    const missingSet = anchorSet.andNot(seedSet);
    const { counts, sums } = stats[j]!;
    let freqAll = 0;
    let freqCovered = 0;
    let magnitudeAll = 0;
    let magnitudeCovered = 0;
    for (const feature of anchorSet.ids()) {
      const n = counts[feature]!;
      if (n === 0) continue;
      const frequency = n / anchor.sampleCount;
      const magnitude = sums[feature]! / n;
      freqAll += frequency;
      magnitudeAll += magnitude;
      if (coveredSet.has(feature)) {
        freqCovered += frequency;
        magnitudeCovered += magnitude;
      }
    }
    const anchorActive = anchorSet.count();
    const covered = coveredSet.count();
    const result: CoverageAtThreshold = {
      threshold: delta,
      anchorActive,
      seedActive: seedSet.count(),
      covered,
      fac: ratio(covered, anchorActive),
      facFreq: ratio(freqCovered, freqAll),
      facMagnitude: ratio(magnitudeCovered, magnitudeAll),
      missing: missingSet.ids(),
    };
    if (input.evalMaxima !== undefined) {
      const evalSet = FeatureBitset.above(input.evalMaxima, delta, within);
      const missingCovered = missingSet.and(evalSet).count();
      result.evalActive = evalSet.count();
      result.evalFac = ratio(anchorSet.and(evalSet).count(), anchorActive);
      result.missingActivatedByEval = missingCovered;
      result.missingShareActivatedByEval = ratio(missingCovered, result.missing.length);
    }
    return result;
  });
  return { results, anchorStats: stats };
}

/**
 * Counts and sums the values of `values[start, end)` above `delta` (one feature's stored
 * activations in a column chunk) into `counts[feature]` and `sums[feature]`.
 */
export function countAbove(values: Float32Array, start: number, end: number, delta: number, counts: Uint32Array, sums: Float64Array, feature: number): void {
  let n = 0;
  let sum = 0;
  for (let e = start; e < end; e++) {
    const v = values[e]!;
    if (v > delta) {
      n++;
      sum += v;
    }
  }
  counts[feature] = n;
  sums[feature] = sum;
}
