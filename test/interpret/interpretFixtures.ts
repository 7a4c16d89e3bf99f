import { join } from 'node:path';
import { indexDataset } from '../../src/core/features/indexDataset.ts';
import { Store } from '../../src/core/store/Store.ts';
import { forgeModelAndSae, populateWorkspace } from '../features/featureFixtures.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { tempHome } from '../support/tempHome.ts';

/**
 * A workspace with the feature fixtures' SAE and datasets, the anchor and seed sets indexed on a
 * forged llama3 model whose training context (4096) holds explanation prompts for several
 * features at once.
 */
export async function indexedWorkspace(prefix: string): Promise<{ home: { path: string; remove(): void }; store: Store; modelPath: string }> {
  const home = tempHome(prefix);
  const { config, weights } = await forgeModelAndSae();
  const { path: modelPath } = await forgeTestModel({ family: 'llama3', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 11, contextLength: 4096 });
  const store = Store.open(join(home.path, 'facet.db'));
  await populateWorkspace(store, home.path, { config, weights });
  for (const dataset of ['anchor', 'seed']) {
    await indexDataset(store, home.path, { dataset, model: modelPath, sae: 'test-sae', kv: 'f32', threads: 1, cpu: true, samplesPerBatch: 8 });
  }
  return { home, store, modelPath };
}
