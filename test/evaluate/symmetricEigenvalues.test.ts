import { describe, expect, it } from 'vitest';
import { symmetricEigenvalues } from '../../src/core/evaluate/symmetricEigenvalues.ts';

/** Independent reference: cyclic Jacobi rotations until the off-diagonal vanishes (slow, simple). */
function jacobiEigenvalues(matrix: Float64Array, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => matrix[i * n + j]!));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! ** 2;
    if (off < 1e-26) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p]![q]!) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * a[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((row, i) => row[i]!).sort((x, y) => x - y);
}

function randomSymmetric(n: number, seed: number): Float64Array {
  let state = seed;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296 - 0.5;
  };
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) m[i * n + j] = m[j * n + i] = next();
  return m;
}

describe('symmetricEigenvalues', () => {
  it('knows small cases', () => {
    expect(Array.from(symmetricEigenvalues(Float64Array.from([2, 1, 1, 2]), 2))).toEqual([expect.closeTo(1, 12), expect.closeTo(3, 12)]);
    expect(Array.from(symmetricEigenvalues(Float64Array.from([5]), 1))).toEqual([5]);
    // rank one x xᵀ: |x|² and zeros
    const x = [1, 2, 2];
    const outer = Float64Array.from(x.flatMap((a) => x.map((b) => a * b)));
    const values = Array.from(symmetricEigenvalues(outer, 3));
    expect(values[2]).toBeCloseTo(9, 12);
    expect(Math.abs(values[0]!) + Math.abs(values[1]!)).toBeLessThan(1e-12);
  });

  it('matches Jacobi rotations on random symmetric matrices up to 40 × 40 (1e-10 relative)', () => {
    for (const [n, seed] of [[3, 1], [7, 2], [16, 3], [40, 4]] as const) {
      const m = randomSymmetric(n, seed);
      const fast = Array.from(symmetricEigenvalues(m, n));
      const reference = jacobiEigenvalues(m, n);
      const scale = Math.max(...reference.map(Math.abs));
      fast.forEach((value, i) => expect(Math.abs(value - reference[i]!) / scale).toBeLessThan(1e-10));
    }
  });
});
