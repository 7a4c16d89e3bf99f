import { describe, expect, it } from 'vitest';
import type { SaeConfig } from '../../src/core/sae/SaeConfig.ts';
import { referenceDecode, referenceEncode, relativeL2 } from '../../src/core/sae/SaeReference.ts';
import { SaeSession } from '../../src/core/sae/SaeSession.ts';
import type { SaeWeights } from '../../src/core/sae/SaeWeights.ts';
import { gaussian, randomWeights, seededRandom, testConfig } from './saeFixtures.ts';

const TOLERANCE = 1e-5;

interface Case {
  name: string;
  config: SaeConfig;
  featureThresholds?: boolean;
}

const dIn = 48;
const dSae = 160;
const cases: Case[] = [
  { name: 'standard', config: testConfig({ architecture: 'standard', dIn, dSae }) },
  { name: 'topk tied (the paper)', config: testConfig({ architecture: 'topk', dIn, dSae, k: 20, tied: true }) },
  { name: 'topk untied, no b_dec on input, scale', config: testConfig({ architecture: 'topk', dIn, dSae, k: 7, applyBDecToInput: false, normalisation: { kind: 'scale', factor: 2.5 } }) },
  { name: 'jumprelu per-feature thresholds', config: testConfig({ architecture: 'jumprelu', dIn, dSae }), featureThresholds: true },
  { name: 'jumprelu scalar threshold, row-norm', config: testConfig({ architecture: 'jumprelu', dIn, dSae, threshold: 0.3, normalisation: { kind: 'row-norm' } }) },
  { name: 'batchtopk as topk', config: testConfig({ architecture: 'batchtopk', dIn, dSae, k: 12 }) },
  { name: 'batchtopk with threshold, layer-norm', config: testConfig({ architecture: 'batchtopk', dIn, dSae, k: 12, threshold: 0.25, normalisation: { kind: 'layer-norm', eps: 1e-5 } }) },
];

async function check(config: SaeConfig, weights: SaeWeights, rows: number, weightPlacement: 'initializers' | 'inputs'): Promise<void> {
  const x = gaussian(rows * config.dIn, seededRandom(7), 1.5);
  const session = await SaeSession.create(config, weights, { threads: 1, provider: 'cpu', batchSize: 16, weightPlacement });
  try {
    const expected = referenceEncode(config, weights, x, rows);
    const codes = await session.encode(x, rows);
    expect(relativeL2(codes, expected)).toBeLessThan(TOLERANCE);
    // Same support: TopK picked the same features.
    for (let i = 0; i < codes.length; i++) expect(codes[i] !== 0).toBe(expected[i] !== 0);

    const sparse = await session.encodeSparse(x, rows);
    const fromSparse = new Float32Array(rows * config.dSae);
    for (let r = 0; r < rows; r++) {
      for (let e = sparse.rowStart[r] as number; e < (sparse.rowStart[r + 1] as number); e++) fromSparse[r * config.dSae + (sparse.indices[e] as number)] = sparse.values[e] as number;
    }
    expect(Array.from(fromSparse)).toEqual(Array.from(codes));
    if (config.k !== null && config.threshold === null) for (let r = 0; r < rows; r++) expect((sparse.rowStart[r + 1] as number) - (sparse.rowStart[r] as number)).toBeLessThanOrEqual(config.k);

    const reconstruction = await session.decode(codes, rows);
    expect(relativeL2(reconstruction, referenceDecode(config, weights, codes, rows))).toBeLessThan(TOLERANCE);
  } finally {
    await session.dispose();
  }
}

describe('SaeSession (onnxruntime-node) against the float64 reference', () => {
  for (const c of cases) {
    for (const placement of ['initializers', 'inputs'] as const) {
      it(`${c.name}, weights as ${placement}: encode, sparse encode and decode within relL2 1e-5`, async () => {
        await check(c.config, randomWeights(c.config, 11, { featureThresholds: c.featureThresholds ?? false }), 37, placement);
      });
    }
  }

  it('dense-relu mode ignores TopK (released-code coverage)', async () => {
    const config = testConfig({ architecture: 'topk', dIn, dSae, k: 5, tied: true });
    const weights = randomWeights(config, 3);
    const x = gaussian(8 * dIn, seededRandom(5));
    const session = await SaeSession.create(config, weights, { threads: 1, provider: 'cpu', activation: 'dense-relu' });
    const codes = await session.encode(x, 8);
    await session.dispose();
    expect(relativeL2(codes, referenceEncode(config, weights, x, 8, 'dense-relu'))).toBeLessThan(TOLERANCE);
    expect(codes.filter((v) => v > 0).length).toBeGreaterThan(8 * 5);
  });

  it('refuses rows of the wrong width with SAE_SHAPE_MISMATCH', async () => {
    const config = testConfig({ architecture: 'standard', dIn: 4, dSae: 6 });
    const session = await SaeSession.create(config, randomWeights(config, 1), { threads: 1, provider: 'cpu' });
    await expect(session.encode(new Float32Array(10), 2)).rejects.toMatchObject({ code: 'SAE_SHAPE_MISMATCH' });
    await session.dispose();
  });
});
