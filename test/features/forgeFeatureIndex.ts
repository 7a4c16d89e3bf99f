import { FeatureIndexRepository, type FeatureSpaceRecord } from '../../src/core/features/FeatureIndexRepository.ts';
import { finalizeFeatureIndex, type SpanTextSource } from '../../src/core/features/finalizeFeatureIndex.ts';
import { encodeSampleFeatures } from '../../src/core/features/SampleFeatures.ts';
import type { Store } from '../../src/core/store/Store.ts';
import type { DatasetRole } from '../../src/shared/datasetTypes.ts';
import { insertDataset } from './featureFixtures.ts';

/** One sample's stored activations: feature → [g, peak]. */
export type ForgedSample = Map<number, [number, number]>;

export interface ForgedDataset {
  name: string;
  role: DatasetRole;
  samples: ForgedSample[];
}

/**
 * A feature space with ready indexes written straight through the repository and
 * `finalizeFeatureIndex`, no model involved: each dataset's samples get the activations given,
 * and span texts come from `spanTexts` (default: "<dataset> #<ordinal>" before the peak, "peak").
 */
export function forgeFeatureIndex(store: Store, dSae: number, datasets: readonly ForgedDataset[], spanTexts?: (dataset: string) => SpanTextSource): { space: FeatureSpaceRecord; datasetIds: Record<string, number> } {
  const repository = new FeatureIndexRepository(store.db);
  const sae = store.db
    .prepare(`INSERT INTO saes (name, hash, format, architecture, d_in, d_sae, k, layer, model_family, config, storage_dir, size_bytes, created_at) VALUES (?, ?, 'facet', 'topk', 4, ?, 2, 1, null, '{}', 'd', 0, 'now')`)
    .run(`forged-${dSae}-${Date.now()}`, `hash-${Math.random()}`, dSae);
  const space = repository.ensureSpace({ key: `forged-${Math.random()}`, saeId: Number(sae.lastInsertRowid), modelHash: 'm', modelName: 'forged', layer: 1, encodeMode: 'topk', template: true, maxTokens: 512, kv: 'f16', minActivation: 0, dSae });
  const datasetIds: Record<string, number> = {};
  for (const dataset of datasets) {
    insertDataset(store, dataset.name, dataset.role, dataset.samples.map((_, i) => `${dataset.name} sample ${i}`));
    const datasetId = (store.db.prepare('SELECT id FROM datasets WHERE name = ?').get(dataset.name) as { id: number }).id;
    datasetIds[dataset.name] = datasetId;
    const index = repository.ensureIndex(space.id, datasetId, dataset.samples.length);
    repository.transaction(() => {
      dataset.samples.forEach((sample, ordinal) => {
        const features = [...sample.keys()].sort((a, b) => a - b);
        const entries = encodeSampleFeatures({
          features: Uint32Array.from(features),
          values: Float32Array.from(features, (f) => sample.get(f)![0]),
          peaks: Uint32Array.from(features, (f) => sample.get(f)![1]),
        });
        repository.insertSample(index.id, ordinal, 2, 40, features.length, entries);
      });
      repository.setIndexed(index.id, dataset.samples.length, dataset.samples.length * 40);
    });
    const texts: SpanTextSource = spanTexts?.(dataset.name) ?? ((ordinal, ranges) => ranges.map(() => ({ prefix: `${dataset.name} #${ordinal} `, peak: 'peak' })));
    finalizeFeatureIndex(repository, index.id, { dSae, spanTexts: texts });
  }
  return { space: repository.space(space.id)!, datasetIds };
}
