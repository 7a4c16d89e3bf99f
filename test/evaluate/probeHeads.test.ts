import { describe, expect, it } from 'vitest';
import { headScore, sigmoid, standardiser, trainLogisticHead, trainRewardHead } from '../../src/core/evaluate/linearHeads.ts';
import { accuracy, auprc, auroc, precisionRecallCurve } from '../../src/core/evaluate/probeMetrics.ts';

function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** Independent float64 reference: Newton's method on the same regularised objective. */
function newtonLogistic(z: Float64Array[], y: number[], d: number, l2: number): { w: number[]; b: number } {
  const theta = new Array<number>(d + 1).fill(0);
  const n = z.length;
  for (let iteration = 0; iteration < 60; iteration++) {
    const g = new Array<number>(d + 1).fill(0);
    const h = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    for (let i = 0; i < n; i++) {
      const x = [...z[i]!, 1];
      const p = sigmoid(x.reduce((s, v, k) => s + v * theta[k]!, 0));
      for (let a = 0; a <= d; a++) {
        g[a]! += ((p - y[i]!) * x[a]!) / n;
        for (let b = 0; b <= d; b++) h[a]![b]! += (p * (1 - p) * x[a]! * x[b]!) / n;
      }
    }
    for (let a = 0; a < d; a++) {
      g[a]! += l2 * theta[a]!;
      h[a]![a]! += l2;
    }
    // solve h · step = g (Gaussian elimination with partial pivoting)
    const m = h.map((row, r) => [...row, g[r]!]);
    for (let c = 0; c <= d; c++) {
      let pivot = c;
      for (let r = c + 1; r <= d; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[pivot]![c]!)) pivot = r;
      [m[c], m[pivot]] = [m[pivot]!, m[c]!];
      for (let r = 0; r <= d; r++) {
        if (r === c) continue;
        const f = m[r]![c]! / m[c]![c]!;
        for (let k = c; k <= d + 1; k++) m[r]![k]! -= f * m[c]![k]!;
      }
    }
    for (let a = 0; a <= d; a++) theta[a]! -= m[a]![d + 1]! / m[a]![a]!;
  }
  return { w: theta.slice(0, d), b: theta[d]! };
}

describe('probe metrics (hand-computed, with ties)', () => {
  it('AUROC counts a tie as one half, AUPRC is average precision over distinct thresholds', () => {
    const scores = [0.9, 0.8, 0.8, 0.3];
    const labels = [1, 0, 1, 0];
    expect(auroc(scores, labels)).toBeCloseTo(3.5 / 4, 12);
    expect(auprc(scores, labels)).toBeCloseTo(0.5 * 1 + 0.5 * (2 / 3), 12);
    expect(accuracy(scores, labels, 0.5)).toBe(0.75); // predicted 1,1,1,0
    expect(auroc([0.1, 0.2], [1, 1])).toBeNull();
    expect(auprc([0.1, 0.2], [0, 0])).toBeNull();
    // perfect and reversed rankings
    expect(auroc([3, 2, 1], [1, 0, 0])).toBe(1);
    expect(auroc([1, 2, 3], [1, 0, 0])).toBe(0);
    expect(auprc([1, 2, 3], [1, 0, 0])).toBeCloseTo(1 / 3, 12);
  });

  it('the precision-recall curve has one point per distinct threshold (ties together), and its step area is the AUPRC', () => {
    const scores = [0.9, 0.8, 0.8, 0.3];
    const labels = [1, 0, 1, 0];
    // hand-computed: ≥0.9 → 1 of 1 right (recall ½); ≥0.8 → 2 of 3 (recall 1); ≥0.3 → 2 of 4
    expect(precisionRecallCurve(scores, labels)).toEqual([
      { threshold: Infinity, recall: 0, precision: 1 },
      { threshold: 0.9, recall: 0.5, precision: 1 },
      { threshold: 0.8, recall: 1, precision: 2 / 3 },
      { threshold: 0.3, recall: 1, precision: 0.5 },
    ]);
    const curve = precisionRecallCurve(scores, labels);
    const area = curve.slice(1).reduce((sum, point, i) => sum + (point.recall - curve[i]!.recall) * point.precision, 0);
    expect(area).toBeCloseTo(auprc(scores, labels)!, 12);
    expect(precisionRecallCurve([0.1, 0.2], [0, 0])).toEqual([]);
  });
});

describe('linear heads', () => {
  const d = 4;
  const next = rng(7);
  const rows = Array.from({ length: 80 }, () => Float64Array.from({ length: d }, () => next() * 4 - 2));
  const truth = [1.5, -2, 0.5, 0];
  const labels = rows.map((row) => (next() < sigmoid(row.reduce((s, v, k) => s + v * truth[k]!, 0.3)) ? 1 : 0));

  it('logistic regression reaches the float64 Newton optimum of the same objective (probabilities within 2e-3)', () => {
    const l2 = 0.01;
    const head = trainLogisticHead(rows, labels, d, { epochs: 3000, learningRate: 0.05, l2, batchSize: rows.length });
    const { mean, std } = standardiser(rows, d);
    const z = rows.map((row) => Float64Array.from(row, (v, k) => (v - mean[k]!) / std[k]!));
    const reference = newtonLogistic(z, labels, d, l2);
    let worst = 0;
    rows.forEach((row, i) => {
      const expected = sigmoid(z[i]!.reduce((s, v, k) => s + v * reference.w[k]!, reference.b));
      worst = Math.max(worst, Math.abs(sigmoid(headScore(head, row)) - expected));
    });
    expect(worst).toBeLessThan(2e-3);
  });

  it('the same seed gives the same head; another seed shuffles differently', () => {
    const a = trainLogisticHead(rows, labels, d, { seed: 1 });
    const b = trainLogisticHead(rows, labels, d, { seed: 1 });
    const c = trainLogisticHead(rows, labels, d, { seed: 2 });
    expect(Array.from(a.weights)).toEqual(Array.from(b.weights));
    expect(Array.from(a.weights)).not.toEqual(Array.from(c.weights));
  });

  it('a Bradley–Terry head learns to rank chosen over rejected along the preference direction', () => {
    const chosen: Float64Array[] = [];
    const rejected: Float64Array[] = [];
    for (let i = 0; i < 60; i++) {
      const base = Float64Array.from({ length: d }, () => next() * 2 - 1);
      chosen.push(Float64Array.from(base, (v, k) => v + (k === 0 ? 1 : 0)));
      rejected.push(Float64Array.from(base, (v, k) => v - (k === 0 ? 1 : 0)));
    }
    const head = trainRewardHead(chosen, rejected, d, { epochs: 50 });
    const right = chosen.filter((row, i) => headScore(head, row) > headScore(head, rejected[i]!)).length;
    expect(right).toBe(60);
    expect(Math.abs(head.weights[0]!)).toBeGreaterThan(Math.max(...Array.from(head.weights.slice(1), Math.abs)));
  });
});
