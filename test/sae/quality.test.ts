import { describe, expect, it } from 'vitest';
import { measureSaeQuality } from '../../src/core/sae/quality/measureSaeQuality.ts';
import type { SaeConfig } from '../../src/core/sae/SaeConfig.ts';
import type { SaeWeights } from '../../src/core/sae/SaeWeights.ts';
import { SaeSession } from '../../src/core/sae/SaeSession.ts';
import type { ActivationSource } from '../../src/core/sae/training/ActivationSource.ts';
import { SparseDirectionsSource } from '../../src/core/sae/training/SparseDirectionsSource.ts';
import { trainTiedTopKSae } from '../../src/core/sae/training/trainTiedTopKSae.ts';
import { tiedTopKToSae } from '../../src/core/sae/training/tiedTopKToSae.ts';

const d = 16;

/** Row r: coefficient a_r on basis vector p_r and b_r on q_r (p_r ≠ q_r); every basis vector used. */
function basisRows(rows: number): { data: Float32Array; pairs: Array<[number, number, number, number]> } {
  const data = new Float32Array(rows * d);
  const pairs: Array<[number, number, number, number]> = [];
  for (let r = 0; r < rows; r++) {
    const p = r % d;
    const q = (r * 7 + 3) % d === p ? (p + 1) % d : (r * 7 + 3) % d;
    const a = 0.5 + ((r * 37) % 11) / 10;
    const b = 0.25 + ((r * 53) % 13) / 10;
    data[r * d + p] = a;
    data[r * d + q] = b;
    pairs.push([p, q, a, b]);
  }
  return { data, pairs };
}

function sourceOf(data: Float32Array, dIn: number, rowsPerChunk: number): ActivationSource {
  return {
    dIn,
    async *chunks({ startChunk }) {
      for (let start = startChunk * rowsPerChunk; start * dIn < data.length; start += rowsPerChunk) yield data.subarray(start * dIn, Math.min(data.length, (start + rowsPerChunk) * dIn));
    },
  };
}

function config(overrides: Partial<SaeConfig>): SaeConfig {
  return {
    architecture: 'standard',
    dIn: d,
    dSae: d,
    k: null,
    normalisation: { kind: 'none' },
    tied: false,
    applyBDecToInput: false,
    threshold: null,
    modelFamily: null,
    layer: 4,
    source: { format: 'facet', path: '/nowhere', files: [], hookName: null, notes: [] },
    hash: 'test',
    ...overrides,
  };
}

/** Identity encoder/decoder on the first d features, then extra all-zero features. */
function identityWeights(dSae: number, extraBias: number[]): SaeWeights {
  const wEnc = new Float32Array(d * dSae);
  const wDec = new Float32Array(dSae * d);
  for (let i = 0; i < d; i++) {
    wEnc[i * dSae + i] = 1;
    wDec[i * d + i] = 1;
  }
  const bEnc = new Float32Array(dSae);
  extraBias.forEach((bias, j) => (bEnc[d + j] = bias));
  return { wEnc, bEnc, wDec, bDec: new Float32Array(d), threshold: null };
}

describe('SAE quality check', () => {
  const rows = 200;
  const { data, pairs } = basisRows(rows);

  it('reports hand-computed L0, zero error, one dead and one always-on feature for an exact ReLU SAE', async () => {
    // Features 0..15 reproduce x exactly; feature 16 has bias 5 (always on, zero decoder row);
    // feature 17 has bias −1 (never fires).
    const cfg = config({ dSae: d + 2 });
    const session = await SaeSession.create(cfg, identityWeights(d + 2, [5, -1]), { threads: 1, provider: 'cpu' });
    const report = await measureSaeQuality(session, sourceOf(data, d, 32), { context: { layer: 4 } });
    await session.dispose();
    const m = report.metrics!;
    expect(m.tokens).toBe(rows);
    expect(m.l0).toBe(3);
    expect(m.normalisedMse).toBeLessThan(1e-12);
    expect(m.fractionOfVarianceUnexplained).toBeLessThan(1e-12);
    expect(m.deadFeatures).toBe(1);
    expect(m.alwaysOnFeatures).toBe(1);
    expect(m.alwaysOnExamples).toEqual([16]);
    expect(report.warnings.map((w) => w.code)).toEqual(['ALWAYS_ON_FEATURES']);
  });

  it('compares in the SAE input space: exact identity SAEs score 0 under scale, row-norm and layer-norm', async () => {
    for (const normalisation of [{ kind: 'scale', factor: 2.5 }, { kind: 'row-norm' }, { kind: 'layer-norm', eps: 1e-5 }] as const) {
      // Layer-norm centres rows, so the identity must also pass negative values: use two-sided
      // features (+e_i and −e_i) with matching decoder rows.
      const dSae = 2 * d;
      const wEnc = new Float32Array(d * dSae);
      const wDec = new Float32Array(dSae * d);
      for (let i = 0; i < d; i++) {
        wEnc[i * dSae + i] = 1;
        wEnc[i * dSae + d + i] = -1;
        wDec[i * d + i] = 1;
        wDec[(d + i) * d + i] = -1;
      }
      const cfg = config({ dSae, normalisation });
      const session = await SaeSession.create(cfg, { wEnc, bEnc: new Float32Array(dSae), wDec, bDec: new Float32Array(d), threshold: null }, { threads: 1, provider: 'cpu' });
      const report = await measureSaeQuality(session, sourceOf(data, d, 64));
      await session.dispose();
      expect(report.metrics!.normalisedMse, normalisation.kind).toBeLessThan(1e-10);
    }
  });

  it('matches a float64 hand computation for TopK K=1 (drops the smaller coefficient), within 1e-6', async () => {
    const cfg = config({ architecture: 'topk', k: 1 });
    const session = await SaeSession.create(cfg, identityWeights(d, []), { threads: 1, provider: 'cpu' });
    const report = await measureSaeQuality(session, sourceOf(data, d, 50), { maxTokens: 150 });
    await session.dispose();
    // Expected: error = min(a,b)², ‖x‖² = a²+b², FVU against the mean of the first 150 rows.
    let normalised = 0;
    let error = 0;
    const mean = new Float64Array(d);
    for (let r = 0; r < 150; r++) {
      const [p, q, a, b] = pairs[r]!;
      normalised += Math.min(a, b) ** 2 / (a * a + b * b);
      error += Math.min(a, b) ** 2;
      mean[p]! += a / 150;
      mean[q]! += b / 150;
    }
    let variance = 0;
    for (let r = 0; r < 150; r++) for (let i = 0; i < d; i++) variance += (data[r * d + i]! - mean[i]!) ** 2;
    const m = report.metrics!;
    expect(m.tokens).toBe(150);
    expect(m.l0).toBe(1);
    expect(Math.abs(m.normalisedMse - normalised / 150)).toBeLessThan(1e-6);
    expect(Math.abs(m.fractionOfVarianceUnexplained - error / variance)).toBeLessThan(1e-6);
  });

  it('refuses to run on a different d_in and warns about layer, base vs instruct and a high FVU with reasons', async () => {
    const mismatch = await measureSaeQuality(
      { config: config({}), encodeSparse: () => Promise.reject(new Error('must not encode')), decode: () => Promise.reject(new Error('must not decode')) },
      sourceOf(new Float32Array(8 * 3), 8, 3),
    );
    expect(mismatch.metrics).toBeNull();
    expect(mismatch.warnings).toMatchObject([{ code: 'D_IN_MISMATCH', severity: 'error' }]);
    expect(mismatch.warnings[0]!.message).toContain('width 16');

    // A ReLU SAE whose directions are a permutation with flipped signs: it explains nothing.
    const weights = identityWeights(d, []);
    weights.wDec!.fill(0);
    for (let i = 0; i < d; i++) weights.wDec![i * d + ((i + 5) % d)] = -1;
    const cfg = config({ modelFamily: 'meta-llama/Llama-3.1-8B', layer: 15 });
    const session = await SaeSession.create(cfg, weights, { threads: 1, provider: 'cpu' });
    const report = await measureSaeQuality(session, sourceOf(data, d, 40), {
      context: { layer: 16, modelName: 'Llama-3.1-8B-Instruct-Q4_K_M.gguf', quantization: 'Q4_K_M' },
    });
    await session.dispose();
    const codes = report.warnings.map((w) => w.code);
    expect(codes).toContain('LAYER_MISMATCH');
    expect(codes).toContain('BASE_VS_INSTRUCT');
    expect(codes).toContain('FVU_ABOVE_ONE');
    const fvu = report.warnings.find((w) => w.code === 'FVU_ABOVE_ONE')!.message;
    expect(fvu).toMatch(/layer differs/);
    expect(fvu).toMatch(/base vs instruct/);
    expect(fvu).toMatch(/Q4_K_M/);
    expect(report.metrics!.fractionOfVarianceUnexplained).toBeGreaterThan(1);
  });

  it("agrees with the trainer's own validation numbers for a trained SAE run through SaeSession (within 1e-4)", async () => {
    const source = new SparseDirectionsSource({ dIn: 32, directions: 48, activePerRow: 3, chunks: 30, rowsPerChunk: 128, noise: 0.01, seed: 9 });
    const trained = await trainTiedTopKSae({ source, dSae: 96, k: 4, epochs: 2, batchTokens: 128, validationFraction: 0.1, validationMaxTokens: 100_000, threads: 1, device: 'cpu' });
    const { config: saeConfig, weights } = tiedTopKToSae(trained.parameters, trained.k, { modelFamily: 'synthetic', layer: 3 });
    expect(saeConfig).toMatchObject({ architecture: 'topk', tied: true, applyBDecToInput: true, k: 4, dIn: 32, dSae: 96, layer: 3 });
    const session = await SaeSession.create(saeConfig, weights, { threads: 1, provider: 'cpu' });
    // The trainer held out every 10th chunk (9, 19, 29): check exactly those rows.
    const heldOut: ActivationSource = {
      dIn: 32,
      async *chunks() {
        for (const c of [9, 19, 29]) yield source.chunk(c);
      },
    };
    const report = await measureSaeQuality(session, heldOut, { context: { layer: 3 } });
    await session.dispose();
    const validation = trained.history.at(-1)!.validation!;
    expect(report.metrics!.tokens).toBe(validation.tokens);
    expect(Math.abs(report.metrics!.l0 - validation.l0)).toBeLessThan(1e-4);
    expect(Math.abs(report.metrics!.normalisedMse - validation.normalisedMse)).toBeLessThan(1e-4);
    expect(Math.abs(report.metrics!.fractionOfVarianceUnexplained - validation.fractionOfVarianceUnexplained)).toBeLessThan(1e-4);
  });
});
