import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { facetSaeLoader, writeFacetSae } from '../../src/core/sae/loaders/facetSaeFormat.ts';
import type { SaeConfig } from '../../src/core/sae/SaeConfig.ts';
import { SaeRegistry } from '../../src/core/sae/SaeRegistry.ts';
import type { SaeWeights } from '../../src/core/sae/SaeWeights.ts';
import type { Store } from '../../src/core/store/Store.ts';
import { gaussian, seededRandom } from '../sae/saeFixtures.ts';

/** Registers an SAE from weights under `name`. */
export async function registerSae(store: Store, home: string, name: string, sae: { config: SaeConfig; weights: SaeWeights }): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'facet-compare-sae-'));
  try {
    await writeFacetSae(folder, sae.config, sae.weights);
    await new SaeRegistry(store, home).register(await facetSaeLoader.load(folder), { name, ...(sae.config.layer !== null ? { layer: sae.config.layer } : {}) });
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * A second SAE whose feature π[i] is feature i of the first, rescaled by c_i ∈ [0.5, 2] (encoder
 * column and bias × c_i, decoder row ÷ c_i, so reconstructions agree) and perturbed by noise of
 * `noise` relative size on the encoder and decoder. Returns the permutation.
 */
export function permutedSae(config: SaeConfig, weights: SaeWeights, seed: number, noise: number): { weights: SaeWeights; permutation: Int32Array } {
  const { dIn, dSae } = config;
  const random = seededRandom(seed);
  const permutation = Int32Array.from({ length: dSae }, (_, i) => i);
  for (let i = dSae - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [permutation[i], permutation[j]] = [permutation[j]!, permutation[i]!];
  }
  const scale = Float64Array.from({ length: dSae }, () => Math.exp((random() * 2 - 1) * Math.log(2)));
  const encNoise = gaussian(dIn * dSae, random, noise / Math.sqrt(dIn));
  const wDecA = weights.wDec!;
  const decNoise = gaussian(dSae * dIn, random, noise / Math.sqrt(dSae));
  const wEnc = new Float32Array(dIn * dSae);
  const bEnc = new Float32Array(dSae);
  const wDec = new Float32Array(dSae * dIn);
  for (let i = 0; i < dSae; i++) {
    const j = permutation[i]!;
    const c = scale[i]!;
    for (let d = 0; d < dIn; d++) {
      wEnc[d * dSae + j] = c * (weights.wEnc[d * dSae + i]! + encNoise[d * dSae + i]!);
      wDec[j * dIn + d] = wDecA[i * dIn + d]! / c + decNoise[i * dIn + d]!;
    }
    bEnc[j] = c * weights.bEnc[i]!;
  }
  return { weights: { wEnc, bEnc, wDec, bDec: Float32Array.from(weights.bDec), threshold: null }, permutation };
}

const topics = ['river', 'stone', 'cloud', 'lamp', 'seven', 'quiet', 'orange', 'metal', 'window', 'garden', 'signal', 'winter', 'paper', 'violin', 'salt', 'harbor', 'copper', 'meadow', 'thunder', 'lantern'];
const verbs = ['carries', 'hides', 'paints', 'counts', 'follows', 'breaks', 'lifts', 'warms'];

/** Varied short texts (the shared dataset). */
export function sharedTexts(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const words = Array.from({ length: 3 + (i % 6) }, (_, j) => topics[(i * 7 + j * 3 + (i >> 2)) % topics.length]);
    return `${i % 3 === 0 ? 'Why' : i % 3 === 1 ? 'Tell me how' : 'Please'} the ${words[0]} ${verbs[i % verbs.length]} ${words.slice(1).join(' ')} ${i % 5 === 0 ? '?' : '.'}`;
  });
}

/** Plain two-pass float64 Pearson over dense vectors: the independent reference the tests compare with. */
export function densePearson(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
