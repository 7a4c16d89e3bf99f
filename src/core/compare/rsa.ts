/**
 * Representational similarity analysis: Spearman rank correlation between the upper triangles
 * (i < j) of two m×m similarity matrices (row-major). Ties get their average rank.
 */
export function rsa(simX: Float64Array, simY: Float64Array, m: number): number {
  const count = (m * (m - 1)) / 2;
  if (count < 2) return Number.NaN;
  const x = new Float64Array(count);
  const y = new Float64Array(count);
  let at = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      x[at] = simX[i * m + j]!;
      y[at] = simY[i * m + j]!;
      at++;
    }
  }
  return pearson(ranks(x), ranks(y));
}

/** Average ranks (1-based) of the values. */
export function ranks(values: Float64Array): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const out = new Float64Array(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) out[order[t]!] = rank;
    i = j + 1;
  }
  return out;
}

export function pearson(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : Number.NaN;
}
