import { symmetricEigen } from './symmetricEigen.ts';

/**
 * SVCCA between two representations of the same m items (rows): X is m×p, Y is m×q (row-major,
 * float64). Each is centred per column; its SVD keeps the leading left singular vectors that
 * explain `varianceKept` of the variance (at most `maxDims`, by default a quarter of m, so that two
 * unrelated subspaces do not share directions merely because together they fill R^m). The
 * canonical correlations of the two reduced representations are the singular values of UₓᵀU_y
 * (both bases are orthonormal); SVCCA is their mean. Left singular vectors come from the
 * eigenvectors of the m×m Gram matrix XXᵀ.
 */
export function svcca(x: Float64Array, p: number, y: Float64Array, q: number, m: number, options: { varianceKept?: number; maxDims?: number } = {}): { value: number; dimsX: number; dimsY: number; correlations: number[] } {
  const maxDims = options.maxDims ?? Math.max(1, Math.floor(m / 4));
  const ux = leadingBasis(x, p, m, options.varianceKept ?? 0.99, maxDims);
  const uy = leadingBasis(y, q, m, options.varianceKept ?? 0.99, maxDims);
  return svccaOfBases(ux, uy, m);
}

/** A reduced orthonormal basis (m × k, row-major) of a representation's leading directions. */
export interface LeadingBasis {
  k: number;
  basis: Float64Array;
}

export function leadingBasis(x: Float64Array, p: number, m: number, varianceKept: number, maxDims: number): LeadingBasis {
  const gram = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = i; k < m; k++) {
      let dot = 0;
      for (let j = 0; j < p; j++) dot += x[i * p + j]! * x[k * p + j]!;
      gram[i * m + k] = dot;
      gram[k * m + i] = dot;
    }
  }
  return leadingBasisOfGram(gram, m, varianceKept, maxDims);
}

/**
 * The same from the uncentred Gram matrix XXᵀ: centring X's columns is H·XXᵀ·H with
 * H = I − 11ᵀ/m (double centring), so X itself is not needed.
 */
export function leadingBasisOfGram(gram: Float64Array, m: number, varianceKept: number, maxDims: number): LeadingBasis {
  const rowMeans = new Float64Array(m);
  let grand = 0;
  for (let i = 0; i < m; i++) {
    let sum = 0;
    for (let k = 0; k < m; k++) sum += gram[i * m + k]!;
    rowMeans[i] = sum / m;
    grand += sum;
  }
  grand /= m * m;
  const centred = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let k = 0; k < m; k++) centred[i * m + k] = gram[i * m + k]! - rowMeans[i]! - rowMeans[k]! + grand;
  const { values, vectors } = symmetricEigen(centred, m);
  let total = 0;
  for (const value of values) if (value > 0) total += value;
  let k = 0;
  let kept = 0;
  while (k < m && k < maxDims && values[k]! > total * 1e-12 && kept < varianceKept * total) {
    kept += values[k]!;
    k++;
  }
  k = Math.max(1, k);
  const basis = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) basis[i * k + c] = vectors[i * m + c]!;
  return { k, basis };
}

/** The basis of the same representation with its rows (items) reordered: row i of the result is row order[i]. */
export function permuteBasisRows(basis: LeadingBasis, order: ArrayLike<number>, m: number): LeadingBasis {
  const out = new Float64Array(m * basis.k);
  for (let i = 0; i < m; i++) out.set(basis.basis.subarray(order[i]! * basis.k, order[i]! * basis.k + basis.k), i * basis.k);
  return { k: basis.k, basis: out };
}

export function svccaOfBases(ux: LeadingBasis, uy: LeadingBasis, m: number): { value: number; dimsX: number; dimsY: number; correlations: number[] } {
  const kx = ux.k;
  const ky = uy.k;
  // M = Uxᵀ Uy (kx × ky); canonical correlations = √eig(MᵀM) or √eig(MMᵀ), the smaller one
  const cross = new Float64Array(kx * ky);
  for (let i = 0; i < m; i++) {
    for (let r = 0; r < kx; r++) {
      const xr = ux.basis[i * kx + r]!;
      if (xr === 0) continue;
      for (let c = 0; c < ky; c++) cross[r * ky + c]! += xr * uy.basis[i * ky + c]!;
    }
  }
  const small = Math.min(kx, ky);
  const product = new Float64Array(small * small);
  for (let r = 0; r < small; r++) {
    for (let c = r; c < small; c++) {
      let dot = 0;
      if (kx <= ky) for (let t = 0; t < ky; t++) dot += cross[r * ky + t]! * cross[c * ky + t]!;
      else for (let t = 0; t < kx; t++) dot += cross[t * ky + r]! * cross[t * ky + c]!;
      product[r * small + c] = dot;
      product[c * small + r] = dot;
    }
  }
  const { values } = symmetricEigen(product, small);
  const correlations = Array.from(values, (value) => Math.min(1, Math.sqrt(Math.max(0, value))));
  const value = correlations.reduce((sum, r) => sum + r, 0) / correlations.length;
  return { value, dimsX: kx, dimsY: ky, correlations };
}
