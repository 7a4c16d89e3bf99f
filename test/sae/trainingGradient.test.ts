import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TiedTopKStepSession } from '../../src/core/sae/training/TiedTopKStepSession.ts';
import { zerosLike, type TiedTopKParameters } from '../../src/core/sae/training/TiedTopKParameters.ts';
import { CheckpointableRandom } from '../../src/core/sae/training/CheckpointableRandom.ts';

const dIn = 6;
const dSae = 10;
const rows = 5;
const k = 3;

function randomParameters(random: CheckpointableRandom): TiedTopKParameters<Float64Array> {
  const fill = (length: number, scale: number) => Float64Array.from({ length }, () => random.gaussian() * scale);
  return { dIn, dSae, weight: fill(dSae * dIn, 0.5), encoderBias: fill(dSae, 0.1), decoderBias: fill(dIn, 0.3) };
}

/** Independent float64 forward pass: mean over rows of ‖x̂ − x‖²/‖x‖². */
function referenceLoss(p: TiedTopKParameters<Float64Array>, x: Float64Array): number {
  let total = 0;
  for (let j = 0; j < rows; j++) {
    const xc = Array.from({ length: dIn }, (_, i) => x[j * dIn + i]! - p.decoderBias[i]!);
    const pre = Array.from({ length: dSae }, (_, f) => p.encoderBias[f]! + xc.reduce((s, v, i) => s + v * p.weight[f * dIn + i]!, 0));
    const top = pre.map((v, f) => ({ v, f })).sort((a, b) => b.v - a.v).slice(0, k);
    let error = 0;
    let norm = 0;
    for (let i = 0; i < dIn; i++) {
      let recon = p.decoderBias[i]!;
      for (const { v, f } of top) recon += Math.max(v, 0) * p.weight[f * dIn + i]!;
      const xi = x[j * dIn + i]!;
      error += (recon - xi) ** 2;
      norm += xi * xi;
    }
    total += error / norm;
  }
  return total / rows;
}

describe('tied TopK training graph gradient', () => {
  let session64: TiedTopKStepSession;
  let session32: TiedTopKStepSession;
  const random = new CheckpointableRandom(7);
  const params = randomParameters(random);
  const x = Float64Array.from({ length: rows * dIn }, () => random.gaussian());

  beforeAll(async () => {
    session64 = await TiedTopKStepSession.create({ dIn, dSae, float: 'float64', threads: 1, device: 'cpu' });
    session32 = await TiedTopKStepSession.create({ dIn, dSae, float: 'float32', threads: 1, device: 'cpu' });
  });
  afterAll(async () => {
    await session64.dispose();
    await session32.dispose();
  });

  const loss = async (p: TiedTopKParameters<Float64Array>) => (await session64.evaluate(p, x, k)).normalisedErrorSum / rows;

  it('computes the loss of an independent float64 forward pass (within 1e-12)', async () => {
    expect(Math.abs((await loss(params)) - referenceLoss(params, x))).toBeLessThan(1e-12);
  });

  it('matches central finite differences in float64 for every parameter (|Δ| ≤ 1e-7 + 1e-6·|g|)', async () => {
    const gradient = zerosLike(params);
    const stats = await session64.gradient(params, x, k, gradient);
    expect(stats.rows).toBe(rows);
    const eps = 1e-6;
    let checked = 0;
    let nonZero = 0;
    for (const name of ['weight', 'encoderBias', 'decoderBias'] as const) {
      for (let i = 0; i < params[name].length; i++) {
        const saved = params[name][i]!;
        params[name][i] = saved + eps;
        const up = await loss(params);
        params[name][i] = saved - eps;
        const down = await loss(params);
        params[name][i] = saved;
        const numeric = (up - down) / (2 * eps);
        const analytic = gradient[name][i]!;
        expect(Math.abs(numeric - analytic), `${name}[${i}] numeric ${numeric} analytic ${analytic}`).toBeLessThanOrEqual(1e-7 + 1e-6 * Math.abs(analytic));
        checked += 1;
        if (Math.abs(analytic) > 1e-6) nonZero += 1;
      }
    }
    expect(checked).toBe(dSae * dIn + dSae + dIn);
    // The check must exercise both paths: many weights get a gradient, the rest are exactly 0.
    expect(nonZero).toBeGreaterThan(dIn * k);
  });

  it('gives the same gradient when encoder and step graph run one row at a time (within 1e-12)', async () => {
    const whole = zerosLike(params);
    await session64.gradient(params, x, k, whole);
    const split = await TiedTopKStepSession.create({ dIn, dSae, float: 'float64', threads: 1, device: 'cpu', maxSelectionElements: k * dIn, maxPreElements: dSae });
    expect(split.microBatchRows(k)).toBe(1);
    const parts = zerosLike(params);
    await split.gradient(params, x, k, parts);
    await split.dispose();
    for (const name of ['weight', 'encoderBias', 'decoderBias'] as const) {
      for (let i = 0; i < whole[name].length; i++) expect(Math.abs(whole[name][i]! - parts[name][i]!)).toBeLessThan(1e-12);
    }
  });

  it('float32 gradient equals the float64 one within relative L2 1e-5', async () => {
    const g64 = zerosLike(params);
    await session64.gradient(params, x, k, g64);
    const p32: TiedTopKParameters = { dIn, dSae, weight: Float32Array.from(params.weight), encoderBias: Float32Array.from(params.encoderBias), decoderBias: Float32Array.from(params.decoderBias) };
    const g32 = zerosLike(p32);
    await session32.gradient(p32, Float32Array.from(x), k, g32);
    let diff = 0;
    let norm = 0;
    for (const name of ['weight', 'encoderBias', 'decoderBias'] as const) {
      for (let i = 0; i < g64[name].length; i++) {
        diff += (g64[name][i]! - g32[name][i]!) ** 2;
        norm += g64[name][i]! ** 2;
      }
    }
    expect(Math.sqrt(diff / norm)).toBeLessThan(1e-5);
  });
});
