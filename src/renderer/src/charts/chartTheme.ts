/**
 * Colours and sizes for every recharts chart, as CSS variables from styles.css so charts follow
 * the light or dark theme. SVG presentation attributes accept `var(--…)` in Chromium and Electron.
 */
export const chartTheme = {
  /** Series colours in order: first dataset, second, … */
  series: ['var(--series-1)', 'var(--series-2)', 'var(--series-3)', 'var(--series-4)', 'var(--series-5)', 'var(--series-6)'],
  grid: 'var(--line)',
  axis: 'var(--muted)',
  ink: 'var(--ink)',
  accent: 'var(--accent)',
  good: 'var(--good)',
  bad: 'var(--danger)',
  /** Tick labels and axis titles. */
  tick: { fontSize: 11, fill: 'var(--muted)' },
  /** The tooltip box. */
  tooltip: { contentStyle: { background: 'var(--panel)', border: '1px solid var(--line)', borderRadius: 6, color: 'var(--ink)', fontSize: 12 } },
  height: 220,
} as const;

/** The colour of the n-th series (wraps around). */
export function seriesColor(index: number): string {
  return chartTheme.series[index % chartTheme.series.length] ?? 'var(--accent)';
}
