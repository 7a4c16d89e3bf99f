import { FacetError } from '../../shared/FacetError.ts';
import { featureMoments, transposeSampleRows, type SparseSampleRows } from './SparseSampleRows.ts';

export interface MatchOptions {
  /** A feature takes part (on either side) only with at least this many nonzero samples. */
  minSupport: number;
  /** Partners kept per feature of A. */
  top: number;
  signal?: AbortSignal;
  /** Called every few thousand features of A. */
  onProgress?: (done: number, total: number) => void;
}

export interface FeatureMatches {
  sampleCount: number;
  /** Features of A with enough support, ascending. */
  supportedA: Uint32Array;
  supportedB: number;
  /** Per supported A feature (same order), up to `top` partners of B, best first; −1 where fewer co-activate. */
  partners: Int32Array;
  correlations: Float32Array;
  top: number;
  /** Best partner in A of each feature of B (−1: none co-activates), and its correlation. */
  bestOfB: Int32Array;
  bestOfBCorrelation: Float32Array;
  /** Co-activation pair updates done (Σ over samples of nnz_A · nnz_B). */
  pairUpdates: number;
}

/**
 * Best partners by Pearson correlation of per-sample g, zeros included, from sparse co-activation
 * sums: for each supported feature a of A, Σ_s g_a(s)·g_b(s) is accumulated over a's nonzero
 * samples s and the B features nonzero in s, into one scratch row of length d_B that is cleared
 * after a. The dense A×B matrix is never built; memory is the two sparse indexes plus O(d_B).
 * r(a, b) = (N Σxy − Σx Σy) / √((N Σx² − (Σx)²)(N Σy² − (Σy)²)) in float64. A B feature that never
 * co-activates with a has Σxy = 0 and r ≤ 0, so it is never a best partner unless nothing
 * co-activates (then a has none).
 */
export function matchFeatures(a: SparseSampleRows, b: SparseSampleRows, options: MatchOptions): FeatureMatches {
  if (a.sampleCount !== b.sampleCount) throw new FacetError('INVALID_ARGUMENT', `The two spaces index different numbers of samples (${a.sampleCount} vs ${b.sampleCount}); matching needs the same datasets in both.`);
  const n = a.sampleCount;
  const top = Math.max(1, Math.floor(options.top));
  const momentsA = featureMoments(a);
  const momentsB = featureMoments(b);
  const columnsA = transposeSampleRows(a);
  const denomB = new Float64Array(b.featureCount);
  let supportedB = 0;
  for (let f = 0; f < b.featureCount; f++) {
    const v = n * momentsB.squares[f]! - momentsB.sums[f]! * momentsB.sums[f]!;
    if (momentsB.counts[f]! >= options.minSupport && v > 0) {
      denomB[f] = Math.sqrt(v);
      supportedB++;
    }
  }
  const supported: number[] = [];
  for (let f = 0; f < a.featureCount; f++) {
    const v = n * momentsA.squares[f]! - momentsA.sums[f]! * momentsA.sums[f]!;
    if (momentsA.counts[f]! >= options.minSupport && v > 0) supported.push(f);
  }
  const supportedA = Uint32Array.from(supported);
  const partners = new Int32Array(supportedA.length * top).fill(-1);
  const correlations = new Float32Array(supportedA.length * top);
  const bestOfB = new Int32Array(b.featureCount).fill(-1);
  const bestOfBCorrelation = new Float32Array(b.featureCount).fill(-Infinity);
  const scratch = new Float64Array(b.featureCount);
  const touched = new Uint32Array(b.featureCount);
  const topR = new Float64Array(top);
  const topB = new Int32Array(top);
  let pairUpdates = 0;
  for (let k = 0; k < supportedA.length; k++) {
    if (k % 2048 === 0) {
      if (options.signal?.aborted) throw new FacetError('CANCELLED', 'Cancelled.');
      options.onProgress?.(k, supportedA.length);
    }
    const fa = supportedA[k]!;
    let touchedCount = 0;
    for (let i = columnsA.starts[fa]!; i < columnsA.starts[fa + 1]!; i++) {
      const s = columnsA.rows[i]!;
      const x = columnsA.values[i]!;
      const end = b.starts[s + 1]!;
      pairUpdates += end - b.starts[s]!;
      for (let j = b.starts[s]!; j < end; j++) {
        const fb = b.features[j]!;
        if (scratch[fb] === 0) touched[touchedCount++] = fb;
        scratch[fb]! += x * b.values[j]!;
      }
    }
    const sx = momentsA.sums[fa]!;
    const denomA = Math.sqrt(n * momentsA.squares[fa]! - sx * sx);
    topR.fill(-Infinity);
    topB.fill(-1);
    for (let t = 0; t < touchedCount; t++) {
      const fb = touched[t]!;
      const sxy = scratch[fb]!;
      scratch[fb] = 0;
      const db = denomB[fb]!;
      if (db === 0) continue;
      const r = (n * sxy - sx * momentsB.sums[fb]!) / (denomA * db);
      if (r > bestOfBCorrelation[fb]! || (r === bestOfBCorrelation[fb]! && fa < bestOfB[fb]!)) {
        bestOfBCorrelation[fb] = r;
        bestOfB[fb] = fa;
      }
      if (r > topR[top - 1]! || (r === topR[top - 1]! && fb < topB[top - 1]!)) {
        let at = top - 1;
        while (at > 0 && (r > topR[at - 1]! || (r === topR[at - 1]! && fb < topB[at - 1]!))) {
          topR[at] = topR[at - 1]!;
          topB[at] = topB[at - 1]!;
          at--;
        }
        topR[at] = r;
        topB[at] = fb;
      }
    }
    for (let t = 0; t < top; t++) {
      partners[k * top + t] = topB[t]!;
      correlations[k * top + t] = topB[t]! < 0 ? 0 : topR[t]!;
    }
  }
  options.onProgress?.(supportedA.length, supportedA.length);
  for (let f = 0; f < b.featureCount; f++) if (bestOfB[f]! < 0) bestOfBCorrelation[f] = 0;
  return { sampleCount: n, supportedA, supportedB, partners, correlations, top, bestOfB, bestOfBCorrelation, pairUpdates };
}

export interface MatchedPair {
  a: number;
  b: number;
  correlation: number;
  /** a's best partner is b and b's best partner (among A's supported features) is a. */
  mutual: boolean;
}

/** The best partner of each supported feature of A that has one. */
export function bestPairs(matches: FeatureMatches): MatchedPair[] {
  const out: MatchedPair[] = [];
  for (let k = 0; k < matches.supportedA.length; k++) {
    const b = matches.partners[k * matches.top]!;
    if (b < 0) continue;
    const a = matches.supportedA[k]!;
    out.push({ a, b, correlation: matches.correlations[k * matches.top]!, mutual: matches.bestOfB[b] === a });
  }
  return out;
}
