import { FacetError } from '../../shared/FacetError.ts';
import type { NormalizedSample } from '../../shared/datasetTypes.ts';
import type { SynthesisRecord } from '../../shared/synthesisTypes.ts';
import { contentHash } from '../datasets/contentHash.ts';
import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import type { Store } from '../store/Store.ts';
import { SynthesisRepository } from './SynthesisRepository.ts';

/** Feature indexes of a dataset are stale once its samples change: they are removed (coverage indexes again). */
function dropIndexes(store: Store, datasetId: number): void {
  store.db.prepare('DELETE FROM feature_indexes WHERE dataset_id = ?').run(datasetId);
}

/**
 * Removes samples from a synthetic dataset in one transaction: their provenance goes with them,
 * their candidates are marked `removed` with the reason, the remaining samples are renumbered
 * densely in their order, and the dataset's feature indexes are dropped.
 */
export function removeSyntheticSamples(store: Store, datasetId: number, sampleIds: readonly number[], reason: string): void {
  const datasets = new DatasetRepository(store.db);
  const dataset = datasets.get(datasetId);
  if (dataset === undefined) throw new FacetError('NOT_FOUND', `No dataset with id ${datasetId}.`, { datasetId });
  if (dataset.role !== 'synthetic') throw new FacetError('INVALID_ARGUMENT', `Dataset '${dataset.name}' is not synthetic; only samples written by 'facet synthesize' can be dropped here.`, { datasetId });
  const synthesis = new SynthesisRepository(store.db);
  synthesis.transaction(() => {
    for (const id of sampleIds) {
      const row = store.db.prepare<[number, number], { id: number }>('SELECT id FROM samples WHERE id = ? AND dataset_id = ?').get(id, datasetId);
      if (row === undefined) throw new FacetError('NOT_FOUND', `Sample ${id} is not in dataset '${dataset.name}'.`, { sampleId: id, datasetId });
      store.db.prepare(`UPDATE synthesis_candidates SET outcome = 'removed', detail = ? WHERE sample_id = ?`).run(reason, id);
      store.db.prepare('DELETE FROM samples WHERE id = ?').run(id);
    }
    // dense ordinals again: move the rest out of the way, then number them 0 … n−1 in order
    const rest = store.db.prepare<[number], { id: number }>('SELECT id FROM samples WHERE dataset_id = ? ORDER BY ordinal').all(datasetId);
    const renumber = store.db.prepare<[number, number]>('UPDATE samples SET ordinal = ? WHERE id = ?');
    rest.forEach((row, i) => renumber.run(-1 - i, row.id));
    rest.forEach((row, i) => renumber.run(i, row.id));
    datasets.updateCounts(datasetId, rest.length, dataset.duplicateCount, dataset.invalidCount, dataset.format);
    dropIndexes(store, datasetId);
  });
}

/** A person drops one sample of a synthetic dataset (see {@link removeSyntheticSamples}). */
export function dropSyntheticSample(store: Store, sampleId: number): void {
  const datasetId = store.db.prepare<[number], { dataset_id: number }>('SELECT dataset_id FROM samples WHERE id = ?').get(sampleId)?.dataset_id;
  if (datasetId === undefined) throw new FacetError('NOT_FOUND', `No sample with id ${sampleId}.`, { sampleId });
  removeSyntheticSamples(store, datasetId, [sampleId], 'dropped by a person');
}

/**
 * Replaces an accepted sample's content with an edited version whose target activation was
 * measured again (`activation`, in the run's feature space); refused at or below the run's δ.
 */
export function replaceSyntheticSample(store: Store, sampleId: number, sample: NormalizedSample, activation: number): SynthesisRecord {
  const synthesis = new SynthesisRepository(store.db);
  const row = store.db.prepare<[number], { record: string; dataset_id: number }>('SELECT p.record, s.dataset_id FROM synthetic_samples p JOIN samples s ON s.id = p.sample_id WHERE p.sample_id = ?').get(sampleId);
  if (row === undefined) throw new FacetError('NOT_FOUND', `Sample ${sampleId} is not an accepted synthetic sample.`, { sampleId });
  const record = JSON.parse(row.record) as SynthesisRecord;
  if (!(activation > record.threshold)) {
    throw new FacetError('INVALID_ARGUMENT', `The edited text activates feature ${record.feature} at ${activation}, not above δ = ${record.threshold}: an accepted sample is never below δ. Edit it differently, or drop the sample.`, { sampleId, activation, threshold: record.threshold });
  }
  const hash = contentHash(sample);
  const updated: SynthesisRecord = { ...record, activation, edited: true };
  synthesis.transaction(() => {
    const clash = store.db.prepare<[number, string, number], { id: number }>('SELECT id FROM samples WHERE dataset_id = ? AND content_hash = ? AND id <> ?').get(row.dataset_id, hash, sampleId);
    if (clash !== undefined) throw new FacetError('INVALID_ARGUMENT', `The dataset already holds exactly this sample (sample ${clash.id}).`, { sampleId });
    store.db
      .prepare('UPDATE samples SET turns = ?, label = ?, pair = ?, meta = ?, content_hash = ? WHERE id = ?')
      .run(JSON.stringify(sample.turns), sample.label ?? null, sample.pair === undefined ? null : JSON.stringify(sample.pair), sample.meta === undefined ? null : JSON.stringify(sample.meta), hash, sampleId);
    synthesis.updateProvenanceRecord(sampleId, updated);
    dropIndexes(store, row.dataset_id);
  });
  return updated;
}
