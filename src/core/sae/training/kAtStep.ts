/**
 * TopK K at optimiser step `step` (0-based) under linear annealing: `from` at step 0 down to `to`
 * at step `steps`, `to` afterwards (rounded to an integer). With `from` = `to` K is constant.
 */
export function kAtStep(step: number, to: number, from: number, steps: number): number {
  if (from <= to || steps <= 0 || step >= steps) return to;
  return Math.round(from + ((to - from) * step) / steps);
}
