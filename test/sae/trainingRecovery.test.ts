import { describe, expect, it } from 'vitest';
import { trainTiedTopKSae, initialParameters, type SaeTrainingProgress } from '../../src/core/sae/training/trainTiedTopKSae.ts';
import { SparseDirectionsSource } from '../../src/core/sae/training/SparseDirectionsSource.ts';
import { CheckpointableRandom } from '../../src/core/sae/training/CheckpointableRandom.ts';

const dIn = 64;
const directions = 64;

/** Mean over true directions of the best cosine with any decoder row `[dSae, dIn]`. */
function meanMaxCosine(weight: Float32Array, dSae: number, truth: Float32Array): number {
  let total = 0;
  for (let f = 0; f < directions; f++) {
    let best = -1;
    for (let g = 0; g < dSae; g++) {
      let dot = 0;
      let norm = 0;
      for (let i = 0; i < dIn; i++) {
        dot += weight[g * dIn + i]! * truth[f * dIn + i]!;
        norm += weight[g * dIn + i]! ** 2;
      }
      best = Math.max(best, dot / Math.sqrt(norm));
    }
    total += best;
  }
  return total / directions;
}

describe('tied TopK training recovers known sparse directions', () => {
  // 64 unit directions in d = 64, 3 active per row with coefficients in [0.5, 1.5], plus a
  // constant offset (so b_dec has a mean to find) and a little noise.
  const offset = Float32Array.from({ length: dIn }, (_, i) => 0.3 * Math.sin(i));
  const source = new SparseDirectionsSource({ dIn, directions, activePerRow: 3, chunks: 100, rowsPerChunk: 256, noise: 0.01, offset, seed: 3 });

  it('finds every direction (mean max cosine ≥ 0.9) with the paper settings (Adam lr 1e-3, K = 3)', async () => {
    const dSae = 128;
    const before = meanMaxCosine(initialParameters(dIn, dSae, new CheckpointableRandom(0)).weight, dSae, source.directions);
    const result = await trainTiedTopKSae({ source, dSae, k: 3, epochs: 8, batchTokens: 256, threads: 1, device: 'cpu' });
    const after = meanMaxCosine(result.parameters.weight, dSae, source.directions);
    // Random unit rows in 64 dimensions stay far below the bar: the test can fail.
    expect(before).toBeLessThan(0.6);
    expect(after).toBeGreaterThanOrEqual(0.9);
    expect(result.complete).toBe(true);
    expect(result.history).toHaveLength(8);
    const last = result.history.at(-1)!;
    expect(last.validation!.l0).toBeCloseTo(3, 5);
    expect(last.validation!.fractionOfVarianceUnexplained).toBeLessThan(0.1);
    expect(last.validation!.normalisedMse).toBeLessThan(result.history[0]!.trainNormalisedMse);
    // b_dec starts at the data mean (offset + mean of the sparse part), so it is close to the offset's direction.
    let dot = 0;
    for (let i = 0; i < dIn; i++) dot += result.parameters.decoderBias[i]! * offset[i]!;
    expect(dot).toBeGreaterThan(0);
  });

  it('anneals K from 24 down to 3 over 150 steps and still recovers the directions', async () => {
    const dSae = 128;
    const seen: SaeTrainingProgress[] = [];
    const result = await trainTiedTopKSae(
      { source, dSae, k: 3, kAnnealFrom: 24, kAnnealSteps: 150, epochs: 6, batchTokens: 256, adam: { learningRate: 3e-3 }, threads: 1, device: 'cpu' },
      { onProgress: (progress) => seen.push(progress) },
    );
    const train = seen.filter((p) => p.phase === 'train');
    expect(train[0]!.k).toBe(24);
    expect(train[75]!.k).toBe(Math.round(24 + ((3 - 24) * 75) / 150));
    expect(train.find((p) => p.step === 151)!.k).toBe(3);
    expect(train.every((p, i) => i === 0 || p.k <= train[i - 1]!.k)).toBe(true);
    expect(meanMaxCosine(result.parameters.weight, dSae, source.directions)).toBeGreaterThanOrEqual(0.9);
  });
});
