import { describe, expect, it } from 'vitest';
import { densePearson } from './compareFixtures.ts';
import { bestPairs, matchFeatures } from '../../src/core/compare/matchFeatures.ts';
import { rsa } from '../../src/core/compare/rsa.ts';
import type { SparseSampleRows } from '../../src/core/compare/SparseSampleRows.ts';
import { crossCorrelations, sharedFeatureMap } from '../../src/core/compare/sharedFeatureMap.ts';
import { cosineMatrix, profileCorrelations } from '../../src/core/compare/spaceSimilarity.ts';
import { svcca } from '../../src/core/compare/svcca.ts';
import { symmetricEigen } from '../../src/core/compare/symmetricEigen.ts';
import { gaussian, seededRandom } from '../sae/saeFixtures.ts';

/** Random sparse rows: each sample activates ~density·d features with positive values. */
function randomRows(samples: number, d: number, density: number, random: () => number): { rows: SparseSampleRows; dense: Float64Array[] } {
  const dense = Array.from({ length: d }, () => new Float64Array(samples));
  const starts = [0];
  const features: number[] = [];
  const values: number[] = [];
  for (let s = 0; s < samples; s++) {
    for (let f = 0; f < d; f++) {
      if (random() < density) {
        const v = Math.fround(0.1 + random() * 3);
        features.push(f);
        values.push(v);
        dense[f]![s] = v;
      }
    }
    starts.push(features.length);
  }
  return { rows: { sampleCount: samples, featureCount: d, starts: Uint32Array.from(starts), features: Uint32Array.from(features), values: Float32Array.from(values) }, dense };
}


describe('matchFeatures', () => {
  it('gives the brute-force float64 best partners, top-3 and correlations (|Δr| ≤ 1e-6)', () => {
    const random = seededRandom(3);
    const a = randomRows(300, 60, 0.08, random);
    const b = randomRows(300, 50, 0.1, random);
    // make B feature 7 follow A feature 3, and B feature 9 follow A feature 11 with noise
    for (const [fa, fb] of [[3, 7], [11, 9]] as const) b.dense[fb] = Float64Array.from(a.dense[fa]!, (v, s) => (v > 0 ? Math.fround(v * 1.7 + 0.05 * (s % 3)) : 0));
    const rebuilt: SparseSampleRows = (() => {
      const starts = [0];
      const features: number[] = [];
      const values: number[] = [];
      for (let s = 0; s < 300; s++) {
        for (let f = 0; f < 50; f++) {
          if (b.dense[f]![s]! > 0) {
            features.push(f);
            values.push(b.dense[f]![s]!);
          }
        }
        starts.push(features.length);
      }
      return { sampleCount: 300, featureCount: 50, starts: Uint32Array.from(starts), features: Uint32Array.from(features), values: Float32Array.from(values) };
    })();
    const minSupport = 5;
    const matches = matchFeatures(a.rows, rebuilt, { minSupport, top: 3 });
    const support = (v: Float64Array) => v.filter((x) => x > 0).length;
    const supportedB = b.dense.map((v, f) => [f, v] as const).filter(([, v]) => support(v) >= minSupport);
    let checked = 0;
    for (let k = 0; k < matches.supportedA.length; k++) {
      const fa = matches.supportedA[k]!;
      const reference = supportedB.map(([fb, v]) => ({ fb, r: densePearson(a.dense[fa]!, v) })).sort((x, y) => y.r - x.r || x.fb - y.fb);
      for (let t = 0; t < 3; t++) {
        expect(matches.partners[k * 3 + t]).toBe(reference[t]!.fb);
        expect(Math.abs(matches.correlations[k * 3 + t]! - reference[t]!.r)).toBeLessThan(1e-6);
      }
      checked++;
    }
    expect(checked).toBe(a.dense.filter((v) => support(v) >= minSupport).length);
    const pairs = bestPairs(matches);
    expect(pairs.find((p) => p.a === 3)).toMatchObject({ b: 7, mutual: true });
    expect(pairs.find((p) => p.a === 11)).toMatchObject({ b: 9, mutual: true });
    // mutual flags agree with a brute-force best-of-B
    for (const pair of pairs) {
      const bestA = [...matches.supportedA].map((fa) => ({ fa, r: densePearson(a.dense[fa]!, b.dense[pair.b]!) })).sort((x, y) => y.r - x.r || x.fa - y.fa)[0]!;
      expect(pair.mutual).toBe(bestA.fa === pair.a);
    }
  });
});

describe('linear algebra', () => {
  it('symmetricEigen reconstructs A = VΛVᵀ with orthonormal V (max error ≤ 1e-9)', () => {
    const random = seededRandom(5);
    const n = 30;
    const g = gaussian(n * n, random);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = g[i * n + j]! + g[j * n + i]!;
    const { values, vectors } = symmetricEigen(a, n);
    for (let i = 1; i < n; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        let dot = 0;
        for (let k = 0; k < n; k++) {
          sum += vectors[i * n + k]! * values[k]! * vectors[j * n + k]!;
          dot += vectors[k * n + i]! * vectors[k * n + j]!;
        }
        worst = Math.max(worst, Math.abs(sum - a[i * n + j]!), Math.abs(dot - (i === j ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-9);
  });

  it('SVCCA is 1 for a linear transform of the same items and low for unrelated items', () => {
    const random = seededRandom(8);
    const m = 120;
    const p = 16;
    const x = Float64Array.from(gaussian(m * p, random));
    const rotation = gaussian(p * 24, random);
    const y = new Float64Array(m * 24);
    for (let i = 0; i < m; i++) for (let c = 0; c < 24; c++) for (let j = 0; j < p; j++) y[i * 24 + c]! += x[i * p + j]! * rotation[j * 24 + c]!;
    expect(svcca(x, p, y, 24, m).value).toBeGreaterThan(0.999);
    const unrelated = Float64Array.from(gaussian(m * 24, random));
    expect(svcca(x, p, unrelated, 24, m).value).toBeLessThan(0.6);
  });

  it('RSA is Spearman of the upper triangles; cosine and profile matrices match dense references', () => {
    // a monotone transform of the similarities keeps RSA at 1
    const m = 6;
    const s = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) s[i * m + j] = i === j ? 1 : Math.sin(i * 7 + j * 7 + i * j);
    const t = Float64Array.from(s, (v) => Math.exp(3 * v));
    expect(rsa(s, t, m)).toBeCloseTo(1, 12);
    expect(rsa(s, Float64Array.from(s, (v) => -v), m)).toBeCloseTo(-1, 12);
    const random = seededRandom(9);
    const { rows, dense } = randomRows(200, 20, 0.2, random);
    const features = [1, 4, 9, 13];
    const profiles = profileCorrelations(rows, features);
    for (let i = 0; i < 4; i++) for (let k = 0; k < 4; k++) expect(Math.abs(profiles[i * 4 + k]! - (i === k ? 1 : densePearson(dense[features[i]!]!, dense[features[k]!]!)))).toBeLessThan(1e-9);
    const rowsOf = [Float32Array.of(3, 4), Float32Array.of(1, 0), Float32Array.of(0, 2)];
    const cos = cosineMatrix({ dIn: 2, row: (f) => rowsOf[f]! }, [0, 1, 2]);
    expect(cos[0 * 3 + 1]).toBeCloseTo(0.6, 12);
    expect(cos[0 * 3 + 2]).toBeCloseTo(0.8, 12);
    expect(cos[1 * 3 + 2]).toBeCloseTo(0, 12);
  });

  it('shared map: cross correlations match dense Pearson; identical profiles land on the same point, the spread matches the top eigenvalues', () => {
    const random = seededRandom(21);
    const a = randomRows(150, 30, 0.2, random);
    const b = randomRows(150, 30, 0.2, random);
    const cross = crossCorrelations(a.rows, b.rows, [2, 5, 7], [1, 1, 9]);
    for (const [i, fa] of [2, 5, 7].entries()) for (const [k, fb] of [1, 1, 9].entries()) expect(Math.abs(cross[i * 3 + k]! - densePearson(a.dense[fa]!, b.dense[fb]!))).toBeLessThan(1e-9);
    // B = A: every pair's two points coincide
    const pairs = Array.from({ length: 30 }, (_, f) => ({ a: f, b: f, correlation: 1, mutual: true }));
    const map = sharedFeatureMap(pairs, a.rows, a.rows);
    expect(map.points).toHaveLength(60);
    const spread = Math.max(...map.points.map((p) => Math.hypot(p.x, p.y)));
    expect(spread).toBeGreaterThan(0.1);
    for (let i = 0; i < 30; i++) expect(Math.hypot(map.points[i]!.x - map.points[30 + i]!.x, map.points[i]!.y - map.points[30 + i]!.y)).toBeLessThan(1e-6 * spread);
    // Σ (x² + y²) = λ1 + λ2 of J·R·J (classical MDS), λ from the Jacobi solver
    const n = 60;
    const r = new Float64Array(n * n);
    const within = profileCorrelations(a.rows, pairs.map((p) => p.a));
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) r[i * n + k] = within[(i % 30) * 30 + (k % 30)]!;
    const means = Array.from({ length: n }, (_, i) => r.subarray(i * n, i * n + n).reduce((x, y) => x + y, 0) / n);
    const grand = means.reduce((x, y) => x + y, 0) / n;
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) r[i * n + k] = r[i * n + k]! - means[i]! - means[k]! + grand;
    const { values } = symmetricEigen(r, n);
    const total = map.points.reduce((sum, p) => sum + p.x * p.x + p.y * p.y, 0);
    expect(total).toBeCloseTo(values[0]! + values[1]!, 4);
  });
});
