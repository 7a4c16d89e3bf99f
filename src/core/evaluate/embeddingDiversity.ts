import { symmetricEigenvalues } from './symmetricEigenvalues.ts';

/** Rows scaled to unit length (a zero row stays zero), as float64. */
function unitRows(embeddings: Float32Array | Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let k = 0; k < d; k++) norm += embeddings[i * d + k]! ** 2;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let k = 0; k < d; k++) out[i * d + k] = embeddings[i * d + k]! * scale;
  }
  return out;
}

/**
 * Mean pairwise cosine distance 1 − mean_{i<j} cos(x_i, x_j) of n embeddings (row-major n × d),
 * from Σ_{i<j} cos = (‖Σ x̂_i‖² − n) / 2.
 */
export function meanPairwiseCosineDistance(embeddings: Float32Array | Float64Array, n: number, d: number): number {
  if (n < 2) return 0;
  const unit = unitRows(embeddings, n, d);
  const sum = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) sum[k]! += unit[i * d + k]!;
  let squared = 0;
  for (let k = 0; k < d; k++) squared += sum[k]! ** 2;
  return 1 - (squared - n) / (n * (n - 1));
}

/**
 * Vendi score with cosine similarity: exp of the Shannon entropy (natural log) of the eigenvalues
 * of K/n, K_ij = cos(x_i, x_j) (unit diagonal). n mutually orthogonal items score n, n identical
 * items 1. Computed on the smaller of K (n × n) and XᵀX (d × d), which share their non-zero eigenvalues.
 */
export function vendiScore(embeddings: Float32Array | Float64Array, n: number, d: number): number {
  if (n === 0) return 0;
  const unit = unitRows(embeddings, n, d);
  const size = Math.min(n, d);
  const gram = new Float64Array(size * size);
  if (n <= d) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += unit[i * d + k]! * unit[j * d + k]!;
        gram[i * n + j] = gram[j * n + i] = dot / n;
      }
    }
  } else {
    for (let r = 0; r < n; r++) {
      for (let a = 0; a < d; a++) {
        const value = unit[r * d + a]!;
        if (value === 0) continue;
        for (let b = 0; b <= a; b++) gram[a * d + b]! += (value * unit[r * d + b]!) / n;
      }
    }
    for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) gram[b * d + a] = gram[a * d + b]!;
  }
  let entropy = 0;
  for (const lambda of symmetricEigenvalues(gram, size)) if (lambda > 1e-15) entropy -= lambda * Math.log(lambda);
  return Math.exp(entropy);
}
