import type { SharedFeatureMap } from '../../shared/compareTypes.ts';
import type { MatchedPair } from './matchFeatures.ts';
import { profileCorrelations } from './spaceSimilarity.ts';
import type { SparseSampleRows } from './SparseSampleRows.ts';

/**
 * A 2-D layout of the features of both spaces from their activation profiles over the shared
 * samples: classical MDS on the joint Pearson correlation matrix of the pairs' A and B features
 * (distance² = 2(1 − r), so the doubly centred matrix is J·R·J), top two axes by orthogonal
 * iteration. Pairs are a seeded random subset (at most `maxPairs`), so the map is not flattered by
 * picking the best matches. Point i and point m + i are a matched pair.
 */
export function sharedFeatureMap(pairs: readonly MatchedPair[], rowsA: SparseSampleRows, rowsB: SparseSampleRows, options: { maxPairs?: number; seed?: number } = {}): SharedFeatureMap {
  const maxPairs = options.maxPairs ?? 200;
  const chosen = pickSubset(pairs, maxPairs, options.seed ?? 5);
  const m = chosen.length;
  const n = 2 * m;
  if (m < 3) return { points: [] };
  const withinA = profileCorrelations(rowsA, chosen.map((p) => p.a));
  const withinB = profileCorrelations(rowsB, chosen.map((p) => p.b));
  const cross = crossCorrelations(rowsA, rowsB, chosen.map((p) => p.a), chosen.map((p) => p.b));
  const r = new Float64Array(n * n);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      r[i * n + k] = withinA[i * m + k]!;
      r[(m + i) * n + (m + k)] = withinB[i * m + k]!;
      r[i * n + (m + k)] = cross[i * m + k]!;
      r[(m + k) * n + i] = cross[i * m + k]!;
    }
  }
  // J R J
  const rowMeans = new Float64Array(n);
  let grand = 0;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += r[i * n + k]!;
    rowMeans[i] = sum / n;
    grand += sum;
  }
  grand /= n * n;
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) r[i * n + k] = r[i * n + k]! - rowMeans[i]! - rowMeans[k]! + grand;
  const { vectors, values } = topTwo(r, n);
  const points = Array.from({ length: n }, (_, i) => {
    const pair = chosen[i % m]!;
    return {
      space: i < m ? ('A' as const) : ('B' as const),
      feature: i < m ? pair.a : pair.b,
      x: vectors[0]![i]! * Math.sqrt(Math.max(0, values[0]!)),
      y: vectors[1]![i]! * Math.sqrt(Math.max(0, values[1]!)),
      correlation: pair.correlation,
    };
  });
  return { points };
}

function pickSubset(pairs: readonly MatchedPair[], maxPairs: number, seed: number): MatchedPair[] {
  const out = [...pairs];
  if (out.length <= maxPairs) return out;
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.slice(0, maxPairs).sort((x, y) => x.a - y.a);
}

/** Pearson r(a_i, b_k) over the shared samples (zeros included), from sparse co-activation sums. */
export function crossCorrelations(rowsA: SparseSampleRows, rowsB: SparseSampleRows, featuresA: readonly number[], featuresB: readonly number[]): Float64Array {
  const m = featuresA.length;
  const q = featuresB.length;
  const localA = new Map<number, number>();
  featuresA.forEach((f, i) => localA.set(f, i));
  const localB = new Map<number, number[]>();
  featuresB.forEach((f, k) => localB.set(f, [...(localB.get(f) ?? []), k]));
  const n = rowsA.sampleCount;
  const sumA = new Float64Array(m);
  const sqA = new Float64Array(m);
  const sumB = new Float64Array(q);
  const sqB = new Float64Array(q);
  const cross = new Float64Array(m * q);
  const activeA: [number, number][] = [];
  const activeB: [number, number][] = [];
  for (let s = 0; s < n; s++) {
    activeA.length = 0;
    activeB.length = 0;
    for (let i = rowsA.starts[s]!; i < rowsA.starts[s + 1]!; i++) {
      const k = localA.get(rowsA.features[i]!);
      if (k !== undefined) activeA.push([k, rowsA.values[i]!]);
    }
    for (let i = rowsB.starts[s]!; i < rowsB.starts[s + 1]!; i++) {
      const ks = localB.get(rowsB.features[i]!);
      if (ks !== undefined) for (const k of ks) activeB.push([k, rowsB.values[i]!]);
    }
    for (const [k, v] of activeA) {
      sumA[k]! += v;
      sqA[k]! += v * v;
      for (const [l, w] of activeB) cross[k * q + l]! += v * w;
    }
    for (const [l, w] of activeB) {
      sumB[l]! += w;
      sqB[l]! += w * w;
    }
  }
  const out = new Float64Array(m * q);
  for (let k = 0; k < m; k++) {
    const da = Math.sqrt(Math.max(0, n * sqA[k]! - sumA[k]! * sumA[k]!));
    for (let l = 0; l < q; l++) {
      const d = da * Math.sqrt(Math.max(0, n * sqB[l]! - sumB[l]! * sumB[l]!));
      out[k * q + l] = d > 0 ? (n * cross[k * q + l]! - sumA[k]! * sumB[l]!) / d : 0;
    }
  }
  return out;
}

/** The two leading eigenpairs of a symmetric matrix by orthogonal iteration (Gram–Schmidt each step). */
function topTwo(matrix: Float64Array, n: number): { vectors: Float64Array[]; values: number[] } {
  let u: Float64Array = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  let v: Float64Array = Float64Array.from({ length: n }, (_, i) => Math.cos(3 * i + 2));
  const multiply = (x: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += matrix[i * n + k]! * x[k]!;
      out[i] = sum;
    }
    return out;
  };
  const dot = (x: Float64Array, y: Float64Array): number => x.reduce((sum, value, i) => sum + value * y[i]!, 0);
  const normalise = (x: Float64Array): Float64Array => {
    const norm = Math.sqrt(dot(x, x)) || 1;
    return x.map((value) => value / norm);
  };
  for (let iteration = 0; iteration < 300; iteration++) {
    u = normalise(multiply(u));
    const w = multiply(v);
    const projection = dot(w, u);
    v = normalise(w.map((value, i) => value - projection * u[i]!));
  }
  return { vectors: [u, v], values: [dot(u, multiply(u)), dot(v, multiply(v))] };
}
