import type { MatchedPair } from './matchFeatures.ts';
import { rsa } from './rsa.ts';
import type { SparseSampleRows } from './SparseSampleRows.ts';
import { leadingBasisOfGram, permuteBasisRows, svccaOfBases } from './svcca.ts';

/** Decoder directions of one SAE: row f (length dIn) is feature f's direction. */
export interface DecoderRows {
  dIn: number;
  row(feature: number): Float32Array | Float64Array;
}

/** A score, the mean of the same score under random pairings, and their spread. */
export interface ScoreWithNull {
  value: number;
  null: number;
  nullSd: number;
}

export interface RepresentationSimilarity {
  svcca: ScoreWithNull;
  rsa: ScoreWithNull;
  /** SVD dimensions SVCCA kept on each side. */
  dims: [number, number];
}

export interface SpaceSimilarity {
  /** Matched pairs the scores use (a seeded random subset when there are more than `maxPairs`). */
  pairsUsed: number;
  /** Over unit decoder directions (cosine similarity matrices for RSA); null without decoders. */
  decoder: RepresentationSimilarity | null;
  /** Over activation profiles across the shared samples (Pearson correlation matrices). */
  profiles: RepresentationSimilarity;
  nullRepeats: number;
}

export interface SpaceSimilarityOptions {
  maxPairs?: number;
  nullRepeats?: number;
  seed?: number;
  varianceKept?: number;
}

/**
 * How shared two spaces are, read from matched pairs (a_k, b_k): SVCCA and RSA of A's items
 * against B's items, the items being the pairs. Each score comes with a null in which the B side
 * is shuffled (random pairings of the same features), so "0.8" can be read against "0.4 by chance".
 * A shuffle permutes the rows of B's Gram matrix and SVD basis, so the null costs no new
 * decomposition.
 */
export function spaceSimilarity(pairs: readonly MatchedPair[], rowsA: SparseSampleRows, rowsB: SparseSampleRows, decoders: { a: DecoderRows; b: DecoderRows } | null, options: SpaceSimilarityOptions = {}): SpaceSimilarity {
  const random = mulberry32(options.seed ?? 12);
  const chosen = choosePairs(pairs, options.maxPairs ?? 256, options.seed ?? 12);
  const m = chosen.length;
  const repeats = options.nullRepeats ?? 20;
  const shuffles = Array.from({ length: repeats }, () => {
    const order = Array.from({ length: m }, (_, i) => i);
    shuffle(order, random);
    return order;
  });
  const varianceKept = options.varianceKept ?? 0.99;
  const score = (gramA: Float64Array, gramB: Float64Array): RepresentationSimilarity => {
    const maxDims = Math.max(1, Math.floor(m / 4));
    const basisA = leadingBasisOfGram(gramA, m, varianceKept, maxDims);
    const basisB = leadingBasisOfGram(gramB, m, varianceKept, maxDims);
    const svccaNulls = shuffles.map((order) => svccaOfBases(basisA, permuteBasisRows(basisB, order, m), m).value);
    const rsaNulls = shuffles.map((order) => rsa(gramA, permuteMatrix(gramB, order, m), m));
    return {
      svcca: { value: svccaOfBases(basisA, basisB, m).value, ...meanSd(svccaNulls) },
      rsa: { value: rsa(gramA, gramB, m), ...meanSd(rsaNulls) },
      dims: [basisA.k, basisB.k],
    };
  };
  const profiles = m < 4 ? emptySimilarity() : score(profileCorrelations(rowsA, chosen.map((p) => p.a)), profileCorrelations(rowsB, chosen.map((p) => p.b)));
  const decoder = decoders === null || m < 4 ? null : score(cosineMatrix(decoders.a, chosen.map((p) => p.a)), cosineMatrix(decoders.b, chosen.map((p) => p.b)));
  return { pairsUsed: m, decoder, profiles, nullRepeats: repeats };
}

/** The pairs the scores use: all of them, or a seeded random subset of `maxPairs` (in A's feature order). */
export function choosePairs(pairs: readonly MatchedPair[], maxPairs: number, seed: number): MatchedPair[] {
  const chosen = [...pairs];
  if (chosen.length <= maxPairs) return chosen;
  shuffle(chosen, mulberry32(seed ^ 0x5bd1e995));
  return chosen.slice(0, maxPairs).sort((x, y) => x.a - y.a);
}

function emptySimilarity(): RepresentationSimilarity {
  const none = { value: Number.NaN, null: Number.NaN, nullSd: Number.NaN };
  return { svcca: none, rsa: none, dims: [0, 0] };
}

function meanSd(values: number[]): { null: number; nullSd: number } {
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  const variance = values.reduce((sum, v) => sum + (v - mean) * (v - mean), 0) / Math.max(1, values.length - 1);
  return { null: mean, nullSd: Math.sqrt(variance) };
}

/** Cosine similarities of the features' decoder directions (m×m). */
export function cosineMatrix(decoder: DecoderRows, features: readonly number[]): Float64Array {
  const m = features.length;
  const unit = features.map((feature) => {
    const row = decoder.row(feature);
    let norm = 0;
    for (let i = 0; i < row.length; i++) norm += row[i]! * row[i]!;
    norm = Math.sqrt(norm) || 1;
    return Float64Array.from(row, (v) => v / norm);
  });
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = i; k < m; k++) {
      let dot = 0;
      const x = unit[i]!;
      const y = unit[k]!;
      for (let j = 0; j < x.length; j++) dot += x[j]! * y[j]!;
      out[i * m + k] = dot;
      out[k * m + i] = dot;
    }
  }
  return out;
}

/** Pearson correlations of the features' per-sample g (zeros included), from sparse co-activation sums (m×m). */
export function profileCorrelations(rows: SparseSampleRows, features: readonly number[]): Float64Array {
  const m = features.length;
  const local = new Map<number, number>();
  features.forEach((feature, i) => local.set(feature, i));
  const n = rows.sampleCount;
  const sums = new Float64Array(m);
  const squares = new Float64Array(m);
  const cross = new Float64Array(m * m);
  const activeIds: number[] = [];
  const activeValues: number[] = [];
  for (let s = 0; s < n; s++) {
    activeIds.length = 0;
    activeValues.length = 0;
    for (let i = rows.starts[s]!; i < rows.starts[s + 1]!; i++) {
      const k = local.get(rows.features[i]!);
      if (k === undefined) continue;
      activeIds.push(k);
      activeValues.push(rows.values[i]!);
    }
    for (let x = 0; x < activeIds.length; x++) {
      const kx = activeIds[x]!;
      const vx = activeValues[x]!;
      sums[kx]! += vx;
      squares[kx]! += vx * vx;
      for (let y = x + 1; y < activeIds.length; y++) {
        const ky = activeIds[y]!;
        const product = vx * activeValues[y]!;
        cross[kx * m + ky]! += product;
        cross[ky * m + kx]! += product;
      }
    }
  }
  const denom = Float64Array.from(sums, (sum, k) => Math.sqrt(Math.max(0, n * squares[k]! - sum * sum)));
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    out[i * m + i] = 1;
    for (let k = i + 1; k < m; k++) {
      const d = denom[i]! * denom[k]!;
      const r = d > 0 ? (n * cross[i * m + k]! - sums[i]! * sums[k]!) / d : 0;
      out[i * m + k] = r;
      out[k * m + i] = r;
    }
  }
  return out;
}

function permuteMatrix(matrix: Float64Array, order: readonly number[], m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let k = 0; k < m; k++) out[i * m + k] = matrix[order[i]! * m + order[k]!]!;
  return out;
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

/** Mulberry32, so the pair subset and the nulls are the same on every run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
