import { join } from 'node:path';
import { requireCoverageDatasets } from '../../src/core/coverage/checkCoverageDatasets.ts';
import { recordCoverageRun, type CoverageRequest, type CoverageReport } from '../../src/core/coverage/measureCoverage.ts';
import { FeatureIndexRepository } from '../../src/core/features/FeatureIndexRepository.ts';
import { encodeSampleFeatures } from '../../src/core/features/SampleFeatures.ts';
import { finalizeFeatureIndex } from '../../src/core/features/finalizeFeatureIndex.ts';
import { DatasetRepository } from '../../src/core/datasets/DatasetRepository.ts';
import { SaeRepository } from '../../src/core/sae/SaeRepository.ts';
import { Store } from '../../src/core/store/Store.ts';
import type { DatasetRole } from '../../src/shared/datasetTypes.ts';
import { insertDataset } from '../features/featureFixtures.ts';

export const D = 8;

/** Hand-built g per sample ({feature: g}); values are exact in float32. */
export const forgedSets: Record<string, { role: DatasetRole; samples: Record<number, number>[] }> = {
  anchor: { role: 'anchor', samples: [{ 0: 2, 1: 0.5, 2: 1 }, { 0: 4, 3: 0.25 }, { 1: 1.5, 4: 3 }, { 0: 1, 5: 0.75 }] },
  seed: { role: 'seed', samples: [{ 0: 0.5, 1: 2 }, { 2: 0.5, 6: 8 }] },
  evalset: { role: 'eval', samples: [{ 3: 1, 4: 0.5 }, { 5: 2, 7: 1 }] },
  // a second seed for run comparisons: activates 3 and 4 strongly, none of 0..2
  seed2: { role: 'seed', samples: [{ 3: 2, 4: 2 }, { 5: 0.5 }] },
};

/**
 * A workspace whose feature indexes are written straight into the store from {@link forgedSets}
 * (no model): an SAE row, one feature space of {@link D} features, a ready index per dataset,
 * finalized by the real finalizer. Span texts name their dataset and sample ("anchor#2").
 */
export function forgeCoverageWorkspace(home: string): { store: Store; spaceId: number; record: (request: Partial<CoverageRequest> & { seed: string }) => CoverageReport } {
  const store = Store.open(join(home, 'facet.db'));
  const sae = new SaeRepository(store.db).insert({
    name: 'forged-sae',
    hash: 'f'.repeat(64),
    format: 'facet',
    architecture: 'topk',
    dIn: 4,
    dSae: D,
    k: 2,
    layer: 1,
    modelFamily: null,
    config: { architecture: 'topk', dIn: 4, dSae: D, k: 2 } as never,
    storageDir: 'saes/forged',
    sizeBytes: 0,
    createdAt: new Date().toISOString(),
  });
  const repository = new FeatureIndexRepository(store.db);
  const space = repository.ensureSpace({ key: 'forged-space', saeId: sae.id, modelHash: 'm'.repeat(64), modelName: 'forged-model', layer: 1, encodeMode: 'topk', template: true, maxTokens: 512, kv: 'f16', minActivation: 0, dSae: D });
  const datasets = new DatasetRepository(store.db);
  for (const [name, { role, samples }] of Object.entries(forgedSets)) {
    insertDataset(store, name, role, samples.map((_, i) => `${name} text ${i}`));
    const dataset = datasets.findByName(name)!;
    const index = repository.ensureIndex(space.id, dataset.id, samples.length);
    repository.transaction(() => {
      samples.forEach((g, ordinal) => {
        const features = Object.keys(g).map(Number).sort((a, b) => a - b);
        const encoded = encodeSampleFeatures({ features: Uint32Array.from(features), values: Float32Array.from(features.map((f) => g[f]!)), peaks: Uint32Array.from(features.map(() => 3)) });
        repository.insertSample(index.id, ordinal, 1, 5, features.length, encoded);
      });
      repository.setIndexed(index.id, samples.length, samples.length * 5);
    });
    finalizeFeatureIndex(repository, index.id, { dSae: D, spanTexts: (ordinal, ranges) => ranges.map(() => ({ prefix: `${name}#${ordinal} `, peak: 'peak' })) });
  }
  const record = (request: Partial<CoverageRequest> & { seed: string }): CoverageReport => {
    const full: CoverageRequest = { model: 'forged-model', sae: 'forged-sae', anchor: 'anchor', thresholds: [0], ...request };
    const names = [full.anchor, full.seed, ...(full.eval !== undefined ? [full.eval] : [])];
    return recordCoverageRun(store, full, { spaceId: space.id, saeName: 'forged-sae', datasets: names.map((name) => ({ id: datasets.findByName(name)!.id, name })), warnings: requireCoverageDatasets(store, full.anchor, full.seed, full.eval), indexing: [] });
  };
  return { store, spaceId: space.id, record };
}
