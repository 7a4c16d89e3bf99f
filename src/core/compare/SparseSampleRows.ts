import { FacetError } from '../../shared/FacetError.ts';
import type { FeatureIndexRepository } from '../features/FeatureIndexRepository.ts';
import { decodeSampleFeatures } from '../features/SampleFeatures.ts';

/**
 * Per-sample sparse g of one feature space over one or more datasets, one row per sample (CSR):
 * row s holds `features[starts[s] .. starts[s + 1] − 1]` (ascending) with their `values`.
 * Samples of later datasets follow those of earlier ones.
 */
export interface SparseSampleRows {
  sampleCount: number;
  featureCount: number;
  /** [sampleCount + 1] */
  starts: Uint32Array;
  features: Uint32Array;
  values: Float32Array;
}

/**
 * Reads the stored per-sample entries of ready indexes (in the order given, samples in ordinal
 * order) and keeps the values above `threshold` (dense-relu spaces: the δ below which an entry
 * counts as zero).
 */
export function loadSparseSampleRows(repository: FeatureIndexRepository, indexIds: readonly number[], featureCount: number, threshold = 0): SparseSampleRows {
  let sampleCount = 0;
  let capacity = 0;
  for (const id of indexIds) {
    const index = repository.indexById(id);
    if (index === undefined || index.state !== 'ready') throw new FacetError('NOT_FOUND', `Feature index ${id} does not exist or is not complete. Index its dataset first ('facet features index').`, { indexId: id });
    sampleCount += index.sampleCount;
    capacity += index.entryCount;
  }
  const starts = new Uint32Array(sampleCount + 1);
  const features = new Uint32Array(capacity);
  const values = new Float32Array(capacity);
  let row = 0;
  let at = 0;
  for (const id of indexIds) {
    const index = repository.indexById(id)!;
    let expected = 0;
    for (const sample of repository.samples(id)) {
      if (sample.ordinal !== expected) throw new FacetError('INTERNAL', `Feature index ${id} lacks the row of sample ${expected}: the index is damaged. Remove it ('facet features remove') and index the dataset again.`, { indexId: id, ordinal: expected });
      const decoded = decodeSampleFeatures(sample.entries);
      for (let i = 0; i < decoded.features.length; i++) {
        const value = decoded.values[i]!;
        if (value > threshold) {
          features[at] = decoded.features[i]!;
          values[at] = value;
          at++;
        }
      }
      expected++;
      starts[++row] = at;
    }
    if (expected !== index.sampleCount) throw new FacetError('INTERNAL', `Feature index ${id} holds ${expected} sample rows but says ${index.sampleCount}: the index is damaged. Remove it and index the dataset again.`, { indexId: id });
  }
  return { sampleCount, featureCount, starts, features: features.subarray(0, at), values: values.subarray(0, at) };
}

/** The same entries grouped by feature (CSC): feature f's samples are `rows[starts[f] .. starts[f + 1] − 1]`. */
export interface SparseFeatureColumns {
  starts: Uint32Array;
  rows: Uint32Array;
  values: Float32Array;
}

export function transposeSampleRows(rows: SparseSampleRows): SparseFeatureColumns {
  const starts = new Uint32Array(rows.featureCount + 1);
  for (let i = 0; i < rows.features.length; i++) starts[rows.features[i]! + 1]!++;
  for (let f = 0; f < rows.featureCount; f++) starts[f + 1]! += starts[f]!;
  const next = starts.slice(0, rows.featureCount);
  const outRows = new Uint32Array(rows.features.length);
  const outValues = new Float32Array(rows.features.length);
  for (let s = 0; s < rows.sampleCount; s++) {
    for (let i = rows.starts[s]!; i < rows.starts[s + 1]!; i++) {
      const at = next[rows.features[i]!]!++;
      outRows[at] = s;
      outValues[at] = rows.values[i]!;
    }
  }
  return { starts, rows: outRows, values: outValues };
}

/** Σg and Σg² per feature over all samples (zeros included implicitly) and the count of nonzero samples. */
export interface FeatureMoments {
  counts: Uint32Array;
  sums: Float64Array;
  squares: Float64Array;
}

export function featureMoments(rows: SparseSampleRows): FeatureMoments {
  const counts = new Uint32Array(rows.featureCount);
  const sums = new Float64Array(rows.featureCount);
  const squares = new Float64Array(rows.featureCount);
  for (let i = 0; i < rows.features.length; i++) {
    const f = rows.features[i]!;
    const v = rows.values[i]!;
    counts[f]!++;
    sums[f]! += v;
    squares[f]! += v * v;
  }
  return { counts, sums, squares };
}
