import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { forgeModel } from '../src/core/forge/forgeModel.ts';
import { SeededRandom } from '../src/core/forge/SeededRandom.ts';
import { facetSaeLoader, writeFacetSae } from '../src/core/sae/loaders/facetSaeFormat.ts';
import type { SaeConfig } from '../src/core/sae/SaeConfig.ts';
import { SaeRegistry } from '../src/core/sae/SaeRegistry.ts';
import type { FacetEngine } from '../src/engine/FacetEngine.ts';

/**
 * What the generation benchmarks share: a forged Mistral-family model (real 32k tokenizer and chat
 * template), a seeded tied TopK SAE (K 16, registered as `bench-sae`) and the sample datasets from
 * resources/samples imported under their role names.
 */
export async function forgedBenchWorkspace(
  engine: FacetEngine,
  options: { layers: number; dim: number; dSae: number; layer: number; seed: number; saeSeed: string; datasets: readonly ('anchor' | 'seed')[] },
): Promise<{ modelPath: string }> {
  const home = engine.home;
  const modelPath = join(home, 'bench-mistral.gguf');
  await forgeModel({ family: 'mistral', layers: options.layers, dim: options.dim, seed: options.seed, contextLength: 8192, out: modelPath });
  const random = new SeededRandom(options.saeSeed);
  const config = {
    architecture: 'topk',
    dIn: options.dim,
    dSae: options.dSae,
    k: 16,
    normalisation: { kind: 'none' },
    tied: true,
    applyBDecToInput: true,
    threshold: null,
    modelFamily: 'forged-mistral',
    layer: options.layer,
    source: { format: 'facet', path: '', files: [], hookName: null, notes: [] },
    hash: '0'.repeat(64),
  } as SaeConfig;
  const saeFolder = join(home, 'sae-src');
  await writeFacetSae(saeFolder, config, { wEnc: random.normalArray(options.dim * options.dSae, 1 / Math.sqrt(options.dim)), bEnc: random.normalArray(options.dSae, 0.05), wDec: null, bDec: random.normalArray(options.dim, 0.05), threshold: null });
  await new SaeRegistry(engine.store, home).register(await facetSaeLoader.load(saeFolder), { name: 'bench-sae', layer: options.layer });
  for (const name of options.datasets) {
    const file = fileURLToPath(new URL(`../resources/samples/${name}-instructions.jsonl`, import.meta.url));
    const job = await engine.call('datasets.import', { path: file, name, role: name });
    await engine.jobs.wait(job.id);
  }
  return { modelPath };
}
