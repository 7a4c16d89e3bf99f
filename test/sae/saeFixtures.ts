import type { SaeArchitectureName, SaeConfig, SaeNormalisation } from '../../src/core/sae/SaeConfig.ts';
import type { SaeWeights } from '../../src/core/sae/SaeWeights.ts';

/** Mulberry32: small seeded generator so every test draws the same numbers. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box–Muller) as float32. */
export function gaussian(length: number, random: () => number, scale = 1): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const u = Math.max(random(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random()) * scale;
  }
  return out;
}

export function testConfig(overrides: Partial<SaeConfig> & { architecture: SaeArchitectureName; dIn: number; dSae: number }): SaeConfig {
  return {
    k: null,
    normalisation: { kind: 'none' } as SaeNormalisation,
    tied: false,
    applyBDecToInput: true,
    threshold: null,
    modelFamily: null,
    layer: null,
    source: { format: 'facet', path: '/dev/null', files: [], hookName: null, notes: [] },
    hash: '0'.repeat(64),
    ...overrides,
  };
}

export function randomWeights(config: SaeConfig, seed: number, options: { featureThresholds?: boolean } = {}): SaeWeights {
  const random = seededRandom(seed);
  const { dIn, dSae } = config;
  return {
    wEnc: gaussian(dIn * dSae, random, 1 / Math.sqrt(dIn)),
    bEnc: gaussian(dSae, random, 0.1),
    wDec: config.tied ? null : gaussian(dSae * dIn, random, 1 / Math.sqrt(dSae)),
    bDec: gaussian(dIn, random, 0.1),
    threshold: options.featureThresholds ? Float32Array.from(gaussian(dSae, random, 0.2), (v) => Math.abs(v)) : null,
  };
}
