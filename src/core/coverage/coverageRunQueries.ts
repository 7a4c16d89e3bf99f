import { FacetError } from '../../shared/FacetError.ts';
import type { CoverageComparison, CoverageMissingPage, CoverageRunSummary, CoverageScatter, CoverageScatterPoint } from '../../shared/coverageTypes.ts';
import { FeatureIndexRepository, type FeatureIndexTotals } from '../features/FeatureIndexRepository.ts';
import { relevantFeaturesOf } from '../interpret/relevantFeaturesOf.ts';
import type { Store } from '../store/Store.ts';
import { countAbove, type AnchorFeatureStats } from './computeCoverage.ts';
import type { CoverageRunRecord } from './CoverageRepository.ts';
import { FeatureBitset } from './FeatureBitset.ts';
import { rankMissingFeatures } from './rankMissingFeatures.ts';
import { getCoverageRun, type CoverageReport, type CoverageRequest } from './measureCoverage.ts';

type StoredRun = CoverageRunRecord<CoverageRequest, Omit<CoverageReport, 'runId'>>;

/**
 * n_i(δ) and Σ g_i over the samples of one index with g_i > δ, [dSae]: the stored totals at δ =
 * the floor, else one pass over the index's column values.
 */
export function indexStatsAbove(repository: FeatureIndexRepository, indexId: number, totals: FeatureIndexTotals, delta: number, floor: number): AnchorFeatureStats {
  if (delta === floor) return { counts: totals.counts, sums: totals.sums };
  const counts = new Uint32Array(totals.counts.length);
  const sums = new Float64Array(totals.counts.length);
  for (const chunk of repository.columnValues(indexId)) {
    for (let k = 0; k < chunk.featureCount; k++) {
      const feature = chunk.firstFeature + k;
      if (!(totals.maxima[feature]! > delta)) continue;
      countAbove(chunk.values, chunk.starts[k]!, chunk.starts[k + 1]!, delta, counts, sums, feature);
    }
  }
  return { counts, sums };
}

interface RunIndexes {
  run: StoredRun;
  repository: FeatureIndexRepository;
  floor: number;
  dSae: number;
  anchorId: number;
  anchor: FeatureIndexTotals;
  seedId: number;
  seed: FeatureIndexTotals;
}

/** The run's anchor and seed indexes, still ready; a coded error naming the fix when one was removed. */
function runIndexes(store: Store, id: number): RunIndexes {
  const run = getCoverageRun(store, id);
  const repository = new FeatureIndexRepository(store.db);
  const space = run.spaceId === null ? undefined : repository.space(run.spaceId);
  if (space === undefined) throw new FacetError('NOT_FOUND', `The feature space of coverage run ${id} was removed (its SAE was deleted); its saved numbers remain, but features cannot be looked up. Run the coverage again.`, { id });
  const load = (ref: { dataset: string; datasetId: number }, role: string): { id: number; totals: FeatureIndexTotals } => {
    const index = repository.index(space.id, ref.datasetId);
    const totals = index?.state === 'ready' ? repository.totals(index.id) : undefined;
    if (index === undefined || totals === undefined) throw new FacetError('NOT_FOUND', `The feature index of the ${role} set '${ref.dataset}' used by coverage run ${id} was removed. Run the coverage again to index it.`, { id, dataset: ref.dataset });
    return { id: index.id, totals };
  };
  const anchor = load(run.result.anchor, 'anchor');
  const seed = load(run.result.seed, 'seed');
  return { run, repository, floor: space.minActivation, dSae: space.dSae, anchorId: anchor.id, anchor: anchor.totals, seedId: seed.id, seed: seed.totals };
}

function requireThreshold(run: StoredRun, threshold: number): number {
  const j = run.result.results.findIndex((result) => result.threshold === threshold);
  if (j < 0) throw new FacetError('INVALID_ARGUMENT', `Coverage run ${run.id} was measured at δ = ${run.result.results.map((result) => result.threshold).join(', ')}, not at ${threshold}. Pick one of those.`, { id: run.id, threshold });
  return j;
}

/**
 * The feature set F of a run, null = every feature. Runs store it when it was restricted (by a
 * list or a task); older task runs recompute it from the current verdicts.
 */
export function coverageFeatureSet(store: Store, run: StoredRun, anchor?: FeatureIndexTotals): number[] | null {
  if (run.result.featureSet !== undefined) return run.result.featureSet;
  const listed = run.request.features ?? null;
  if (run.request.task === undefined || run.spaceId === null) return listed;
  const active: number[] = [];
  if (anchor !== undefined) for (let f = 0; f < anchor.counts.length; f++) if (anchor.counts[f]! > 0) active.push(f);
  const { relevant } = relevantFeaturesOf(store, run.spaceId, run.request.task, active);
  if (listed === null) return relevant;
  const within = new Set(listed);
  return relevant.filter((feature) => within.has(feature));
}

/** `coverage.missing`: the run's missing features at one of its δ, ranked, with anchor spans. */
export function coverageMissingAt(store: Store, id: number, threshold: number, limit = 20, spansPerFeature = 3): CoverageMissingPage {
  const indexes = runIndexes(store, id);
  const j = requireThreshold(indexes.run, threshold);
  const missing = indexes.run.result.results[j]!.missing;
  const stats = indexStatsAbove(indexes.repository, indexes.anchorId, indexes.anchor, threshold, indexes.floor);
  return { runId: id, threshold, total: missing.length, features: rankMissingFeatures(indexes.repository, indexes.anchorId, missing, stats, indexes.anchor.maxima, limit, spansPerFeature) };
}

/**
 * `coverage.scatter`: per feature of F active in the anchor or the seed at δ, the share of anchor
 * samples and of seed samples that activate it (g_i > δ). At most `limit` points: every missing
 * feature first, then the others by anchor + seed share.
 */
export function coverageScatter(store: Store, id: number, threshold: number, limit = 4000): CoverageScatter {
  const indexes = runIndexes(store, id);
  requireThreshold(indexes.run, threshold);
  const features = coverageFeatureSet(store, indexes.run, indexes.anchor);
  const within = features === null ? null : FeatureBitset.fromIds(indexes.dSae, features);
  const anchor = indexStatsAbove(indexes.repository, indexes.anchorId, indexes.anchor, threshold, indexes.floor).counts;
  const seed = indexStatsAbove(indexes.repository, indexes.seedId, indexes.seed, threshold, indexes.floor).counts;
  const points: CoverageScatterPoint[] = [];
  for (let feature = 0; feature < indexes.dSae; feature++) {
    if (within !== null && !within.has(feature)) continue;
    const a = anchor[feature]!;
    const s = seed[feature]!;
    if (a === 0 && s === 0) continue;
    points.push({ feature, anchor: a / indexes.anchor.sampleCount, seed: s / indexes.seed.sampleCount, missing: a > 0 && s === 0 });
  }
  const total = points.length;
  points.sort((p, q) => Number(q.missing) - Number(p.missing) || q.anchor + q.seed - (p.anchor + p.seed) || p.feature - q.feature);
  return { runId: id, threshold, anchorSamples: indexes.anchor.sampleCount, seedSamples: indexes.seed.sampleCount, total, points: points.slice(0, limit) };
}

function summaryOf(run: StoredRun): CoverageRunSummary {
  const { result } = run;
  return {
    id: run.id,
    createdAt: run.createdAt,
    spaceId: run.spaceId,
    model: result.model,
    sae: result.sae,
    layer: result.layer,
    encode: result.encode,
    anchor: result.anchor.dataset,
    seed: result.seed.dataset,
    featureCount: result.featureCount,
    ...(result.task !== undefined ? { task: result.task } : {}),
  };
}

/**
 * `coverage.compare`: FAC of two runs per δ side by side, and, where both runs share a feature
 * space, which features run b covers that run a does not (and the reverse) at each common δ.
 * Covered at δ = in F(P) (anchor maximum > δ, within F) and not missing.
 */
export function compareCoverageRuns(store: Store, a: number, b: number): CoverageComparison {
  const runA = getCoverageRun(store, a);
  const runB = getCoverageRun(store, b);
  const thresholds = [...new Set([...runA.result.results, ...runB.result.results].map((result) => result.threshold))].sort((x, y) => x - y);
  const rows = thresholds.map((threshold) => ({ threshold, a: runA.result.results.find((r) => r.threshold === threshold) ?? null, b: runB.result.results.find((r) => r.threshold === threshold) ?? null }));
  const comparison: CoverageComparison = { a: summaryOf(runA), b: summaryOf(runB), rows, sameSpace: runA.spaceId !== null && runA.spaceId === runB.spaceId, features: [] };
  if (!comparison.sameSpace) {
    comparison.note = 'The runs were measured in different feature spaces (model, layer, SAE or encode mode differ), so feature ids do not correspond; only the FAC values compare.';
    return comparison;
  }
  const common = rows.filter((row) => row.a !== null && row.b !== null).map((row) => row.threshold);
  if (common.length === 0) {
    comparison.note = 'The runs share no δ; measure both at a common δ to compare features.';
    return comparison;
  }
  let indexesA: RunIndexes;
  let indexesB: RunIndexes;
  try {
    indexesA = runIndexes(store, a);
    indexesB = runIndexes(store, b);
  } catch (error) {
    if (!(error instanceof FacetError)) throw error;
    comparison.note = error.message;
    return comparison;
  }
  const coveredSet = (indexes: RunIndexes, threshold: number): FeatureBitset => {
    const features = coverageFeatureSet(store, indexes.run, indexes.anchor);
    const anchorSet = FeatureBitset.above(indexes.anchor.maxima, threshold, features === null ? null : FeatureBitset.fromIds(indexes.dSae, features));
    const missing = indexes.run.result.results.find((result) => result.threshold === threshold)!.missing;
    return anchorSet.andNot(FeatureBitset.fromIds(indexes.dSae, missing));
  };
  comparison.features = common.map((threshold) => {
    const coveredA = coveredSet(indexesA, threshold);
    const coveredB = coveredSet(indexesB, threshold);
    return { threshold, newlyCovered: coveredB.andNot(coveredA).ids(), lost: coveredA.andNot(coveredB).ids() };
  });
  return comparison;
}
