import { FacetError } from '../../shared/FacetError.ts';

export type PoolMode = 'none' | 'max' | 'mean' | 'last';
export const poolModes: readonly PoolMode[] = ['none', 'max', 'mean', 'last'];

/**
 * Pools one sample's residuals `[tokens, nEmbd]` (row-major) over positions t ≥ t0 into one
 * `[nEmbd]` vector: element-wise max, mean, or the last row. Positions before t0 (BOS, template
 * header) never count; when t0 is past the end the last row is used.
 */
export function poolActivations(rows: Float32Array, nEmbd: number, t0: number, mode: Exclude<PoolMode, 'none'>): Float32Array {
  const tokens = rows.length / nEmbd;
  if (!Number.isInteger(tokens) || tokens < 1) throw new FacetError('INVALID_ARGUMENT', `Cannot pool ${rows.length} values as rows of ${nEmbd}.`);
  const start = Math.min(Math.max(0, t0), tokens - 1);
  const out = new Float32Array(nEmbd);
  if (mode === 'last') {
    out.set(rows.subarray((tokens - 1) * nEmbd, tokens * nEmbd));
    return out;
  }
  if (mode === 'max') {
    out.set(rows.subarray(start * nEmbd, (start + 1) * nEmbd));
    for (let t = start + 1; t < tokens; t++) {
      const base = t * nEmbd;
      for (let i = 0; i < nEmbd; i++) if (rows[base + i]! > out[i]!) out[i] = rows[base + i]!;
    }
    return out;
  }
  const sum = new Float64Array(nEmbd);
  for (let t = start; t < tokens; t++) {
    const base = t * nEmbd;
    for (let i = 0; i < nEmbd; i++) sum[i]! += rows[base + i]!;
  }
  const count = tokens - start;
  for (let i = 0; i < nEmbd; i++) out[i] = sum[i]! / count;
  return out;
}
