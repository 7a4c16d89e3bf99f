import { SeededRandom } from '../forge/SeededRandom.ts';

/** Training settings of a linear head. */
export interface HeadTraining {
  /** Passes over the training set. Defaults to 15. */
  epochs?: number;
  /** Adam step size at the start; it decays linearly to 0 over training. Defaults to 0.01. */
  learningRate?: number;
  /** L2 penalty λ/2·‖w‖² on the weights (not the bias). Defaults to 1e-3. */
  l2?: number;
  /** Defaults to 32. */
  batchSize?: number;
  /** Shuffling seed. Defaults to 0. */
  seed?: number;
}

/** A linear head on standardised features: score = w · (x − mean) / std + b. */
export interface LinearHead {
  weights: Float64Array;
  bias: number;
  mean: Float64Array;
  std: Float64Array;
}

/** Per-dimension mean and (population) standard deviation of rows, the std floored at 1e-6. */
export function standardiser(rows: readonly Float64Array[], d: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const row of rows) for (let k = 0; k < d; k++) mean[k]! += row[k]! / rows.length;
  for (const row of rows) for (let k = 0; k < d; k++) std[k]! += (row[k]! - mean[k]!) ** 2 / rows.length;
  for (let k = 0; k < d; k++) std[k] = Math.max(1e-6, Math.sqrt(std[k]!));
  return { mean, std };
}

export function headScore(head: LinearHead, row: Float64Array): number {
  let sum = head.bias;
  for (let k = 0; k < head.weights.length; k++) sum += (head.weights[k]! * (row[k]! - head.mean[k]!)) / head.std[k]!;
  return sum;
}

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Mini-batch Adam on a differentiable loss of a linear head. `gradient(batch, head, gw)` adds the
 * batch's mean loss gradient w.r.t. the weights into gw and returns the bias gradient.
 */
function trainHead(count: number, d: number, standard: { mean: Float64Array; std: Float64Array }, options: HeadTraining, gradient: (batch: number[], head: LinearHead, gw: Float64Array) => number): LinearHead {
  const epochs = options.epochs ?? 15;
  const rate = options.learningRate ?? 0.01;
  const l2 = options.l2 ?? 1e-3;
  const batchSize = Math.max(1, Math.min(count, options.batchSize ?? 32));
  const head: LinearHead = { weights: new Float64Array(d), bias: 0, mean: standard.mean, std: standard.std };
  const m = new Float64Array(d + 1);
  const v = new Float64Array(d + 1);
  const gw = new Float64Array(d);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const random = new SeededRandom(`head:${options.seed ?? 0}`);
  const order = Array.from({ length: count }, (_, i) => i);
  const steps = epochs * Math.ceil(count / batchSize);
  let t = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random.nextFloat() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let start = 0; start < count; start += batchSize) {
      const batch = order.slice(start, start + batchSize);
      gw.fill(0);
      const gb = gradient(batch, head, gw);
      t++;
      const lr = rate * (1 - (t - 1) / steps);
      const correction1 = 1 - beta1 ** t;
      const correction2 = 1 - beta2 ** t;
      for (let k = 0; k <= d; k++) {
        const g = k < d ? gw[k]! + l2 * head.weights[k]! : gb;
        m[k] = beta1 * m[k]! + (1 - beta1) * g;
        v[k] = beta2 * v[k]! + (1 - beta2) * g * g;
        const step = (lr * (m[k]! / correction1)) / (Math.sqrt(v[k]! / correction2) + 1e-8);
        if (k < d) head.weights[k]! -= step;
        else head.bias -= step;
      }
    }
  }
  return head;
}

/** Logistic regression: minimises mean binary cross-entropy + λ/2·‖w‖² with labels 0/1. */
export function trainLogisticHead(rows: readonly Float64Array[], labels: readonly number[], d: number, options: HeadTraining = {}): LinearHead {
  const standard = standardiser(rows, d);
  return trainHead(rows.length, d, standard, options, (batch, head, gw) => {
    let gb = 0;
    for (const i of batch) {
      const error = (sigmoid(headScore(head, rows[i]!)) - labels[i]!) / batch.length;
      gb += error;
      for (let k = 0; k < d; k++) gw[k]! += (error * (rows[i]![k]! - standard.mean[k]!)) / standard.std[k]!;
    }
    return gb;
  });
}

/**
 * Bradley–Terry reward head: minimises mean −log σ(r(chosen) − r(rejected)) + λ/2·‖w‖², r = head
 * score (the bias cancels and stays 0). Standardised on chosen and rejected rows together.
 */
export function trainRewardHead(chosen: readonly Float64Array[], rejected: readonly Float64Array[], d: number, options: HeadTraining = {}): LinearHead {
  const standard = standardiser([...chosen, ...rejected], d);
  return trainHead(chosen.length, d, standard, options, (batch, head, gw) => {
    for (const i of batch) {
      const margin = headScore(head, chosen[i]!) - headScore(head, rejected[i]!);
      const coefficient = (sigmoid(margin) - 1) / batch.length;
      for (let k = 0; k < d; k++) gw[k]! += (coefficient * (chosen[i]![k]! - rejected[i]![k]!)) / standard.std[k]!;
    }
    return 0;
  });
}
