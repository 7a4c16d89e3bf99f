import type { SampleFeatures } from '../features/SampleFeatures.ts';
import type { AnchorCoverageData } from './computeCoverage.ts';

/**
 * Coverage data of a set held in memory (a few hand-built or freshly generated samples) in the
 * shape the index provides: per-feature maxima, counts and sums of g_i > 0, one column chunk.
 */
export function summarizeSampleFeatures(samples: readonly SampleFeatures[], dSae: number): AnchorCoverageData {
  const maxima = new Float32Array(dSae);
  const counts = new Uint32Array(dSae);
  const sums = new Float64Array(dSae);
  for (const sample of samples) {
    sample.features.forEach((feature, i) => {
      const value = sample.values[i]!;
      if (!(value > 0)) return;
      counts[feature]! += 1;
      sums[feature]! += value;
      if (value > maxima[feature]!) maxima[feature] = value;
    });
  }
  const starts = new Uint32Array(dSae + 1);
  for (let f = 0; f < dSae; f++) starts[f + 1] = starts[f]! + counts[f]!;
  const values = new Float32Array(starts[dSae]!);
  const cursor = starts.slice(0, dSae);
  for (const sample of samples) {
    sample.features.forEach((feature, i) => {
      const value = sample.values[i]!;
      if (value > 0) values[cursor[feature]!++] = value;
    });
  }
  return { sampleCount: samples.length, maxima, counts, sums, columns: () => [{ firstFeature: 0, featureCount: dSae, starts, values }] };
}
