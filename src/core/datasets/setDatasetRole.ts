import { FacetError } from '../../shared/FacetError.ts';
import type { DatasetRole, DatasetSummary } from '../../shared/datasetTypes.ts';
import type { Store } from '../store/Store.ts';
import { DatasetRepository } from './DatasetRepository.ts';

/**
 * Changes what a dataset is for (seed, anchor, eval). `synthetic` marks the sets FAC Synthesis
 * wrote (their samples carry lineage), so no dataset can be made synthetic and a synthetic one
 * keeps its role. Refusals are `INVALID_ARGUMENT` with `details.param = 'role'`; nothing changes.
 */
export function setDatasetRole(store: Store, id: number, role: DatasetRole): DatasetSummary {
  const repository = new DatasetRepository(store.db);
  const dataset = repository.get(id);
  if (dataset === undefined) throw new FacetError('NOT_FOUND', `No dataset with id ${id}.`, { id });
  if (dataset.role === role) return dataset;
  if (role === 'synthetic') {
    throw new FacetError('INVALID_ARGUMENT', `'${dataset.name}' cannot become synthetic: that role marks sets FAC Synthesis wrote, whose samples record the features they were made for. Use seed, anchor or eval.`, { param: 'role', dataset: dataset.name, role });
  }
  if (dataset.role === 'synthetic') {
    throw new FacetError('INVALID_ARGUMENT', `'${dataset.name}' was written by FAC Synthesis and stays synthetic (its samples keep their lineage); it can still be used as a seed in coverage and synthesis.`, { param: 'role', dataset: dataset.name, role });
  }
  repository.setRole(id, role);
  return repository.get(id) as DatasetSummary;
}
