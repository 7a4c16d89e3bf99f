/**
 * Binary-classification metrics over scores (higher = more likely positive), label 1 = positive.
 */

/** AUROC = P(score⁺ > score⁻) + ½ P(tie), from average ranks (Mann–Whitney). Null without both classes. */
export function auroc(scores: readonly number[], labels: readonly number[]): number | null {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const ranks = new Float64Array(scores.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const average = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = average;
    i = j + 1;
  }
  let positives = 0;
  let rankSum = 0;
  labels.forEach((label, i) => {
    if (label === 1) {
      positives++;
      rankSum += ranks[i]!;
    }
  });
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * AUPRC as average precision: Σ over distinct score thresholds (highest first, tied scores form one
 * threshold) of (recall_k − recall_{k−1}) · precision_k. Null without positives.
 */
export function auprc(scores: readonly number[], labels: readonly number[]): number | null {
  const curve = precisionRecallCurve(scores, labels);
  if (curve.length === 0) return null;
  let sum = 0;
  for (let k = 1; k < curve.length; k++) sum += (curve[k]!.recall - curve[k - 1]!.recall) * curve[k]!.precision;
  return sum;
}

/**
 * The precision–recall curve behind {@link auprc}: one point per distinct score threshold, highest
 * first (tied scores form one point), starting at recall 0 with the first point's precision. The
 * step area under it (recall steps × precision) is exactly the AUPRC. Empty without positives.
 */
export function precisionRecallCurve(scores: readonly number[], labels: readonly number[]): { threshold: number; recall: number; precision: number }[] {
  const positives = labels.filter((label) => label === 1).length;
  if (positives === 0) return [];
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const points: { threshold: number; recall: number; precision: number }[] = [];
  let truePositives = 0;
  let seen = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    for (let k = i; k <= j; k++) {
      seen++;
      if (labels[order[k]!] === 1) truePositives++;
    }
    points.push({ threshold: scores[order[i]!]!, recall: truePositives / positives, precision: truePositives / seen });
    i = j + 1;
  }
  return [{ threshold: Infinity, recall: 0, precision: points[0]!.precision }, ...points];
}

/** Share of samples whose score is on the right side of `threshold` (positive when score > threshold). */
export function accuracy(scores: readonly number[], labels: readonly number[], threshold = 0.5): number {
  if (scores.length === 0) return 0;
  let right = 0;
  scores.forEach((score, i) => {
    if ((score > threshold ? 1 : 0) === labels[i]) right++;
  });
  return right / scores.length;
}

export function meanAndStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
  const variance = values.length > 1 ? values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}
