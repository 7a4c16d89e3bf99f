import { FacetError } from '../../shared/FacetError.ts';
import { getCoverageRun } from '../coverage/measureCoverage.ts';
import { readFeatureList } from '../coverage/readFeatureList.ts';
import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import { FeatureIndexRepository, type FeatureSpaceRecord } from '../features/FeatureIndexRepository.ts';
import type { Store } from '../store/Store.ts';

/**
 * Which features to explain or judge: `anchor` (the default: features the space's anchor
 * datasets activate, the candidates for F; all indexed datasets when none has the anchor role),
 * `missing:<coverage run id>` (that run's missing features at its first δ), or ids (from a file).
 * Most frequent in the anchor first.
 */
export type FeatureSelection = 'anchor' | `missing:${number}` | number[];

/** Parses the CLI/API form: `anchor`, `missing:<run>`, or a file of ids. */
export async function parseFeatureSelection(value: string | undefined): Promise<FeatureSelection> {
  if (value === undefined || value === 'anchor') return 'anchor';
  const missing = /^missing:(\d+)$/.exec(value);
  if (missing) return `missing:${Number(missing[1])}`;
  return readFeatureList(value);
}

export function selectFeatures(store: Store, space: FeatureSpaceRecord, selection: FeatureSelection): number[] {
  const repository = new FeatureIndexRepository(store.db);
  const datasets = new DatasetRepository(store.db);
  const ready = repository.indexesOfSpace(space.id).filter((index) => index.state === 'ready');
  if (ready.length === 0) {
    throw new FacetError('NOT_FOUND', `Feature space ${space.id} has no indexed dataset yet. Index the anchor set first ('facet features index' or 'facet coverage').`, { spaceId: space.id });
  }
  const anchors = ready.filter((index) => datasets.get(index.datasetId)?.role === 'anchor');
  const counts = new Float64Array(space.dSae);
  for (const index of anchors.length > 0 ? anchors : ready) {
    const totals = repository.totals(index.id);
    if (totals === undefined) continue;
    for (let f = 0; f < space.dSae; f++) counts[f]! += totals.counts[f]!;
  }
  const byFrequency = (a: number, b: number): number => counts[b]! - counts[a]! || a - b;
  if (selection === 'anchor') {
    const active: number[] = [];
    for (let f = 0; f < space.dSae; f++) if (counts[f]! > 0) active.push(f);
    return active.sort(byFrequency);
  }
  if (typeof selection === 'string') {
    const runId = Number(selection.slice('missing:'.length));
    const run = getCoverageRun(store, runId);
    if (run.result.spaceId !== space.id) {
      throw new FacetError('INVALID_ARGUMENT', `Coverage run ${runId} was measured in feature space ${run.result.spaceId}, not ${space.id} (model, layer, SAE or encode mode differ). Pick a run of this space ('facet coverage' lists them in the app's Coverage page).`, { runId, spaceId: space.id });
    }
    return [...(run.result.results[0]?.missing ?? [])].sort(byFrequency);
  }
  for (const feature of selection) {
    if (!Number.isInteger(feature) || feature < 0 || feature >= space.dSae) {
      throw new FacetError('INVALID_ARGUMENT', `Feature ${feature} does not exist in this space: its SAE has features 0..${space.dSae - 1}.`, { feature, dSae: space.dSae });
    }
  }
  return [...new Set(selection)];
}
