import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatCount, formatDecimal } from '../../../shared/formatNumber.ts';
import { chartTheme, seriesColor } from '../charts/chartTheme.ts';

export interface HistogramSeries {
  name: string;
  counts: number[];
}

/** Round ticks over [min, max] (steps of 1, 2 or 5 × 10^k, about `count` of them) and the decimals they need. */
function niceTicks(min: number, max: number, count = 5): { ticks: number[]; digits: number } {
  if (!(max > min)) return { ticks: [min], digits: 1 };
  const rough = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  const ticks: number[] = [];
  for (let tick = Math.ceil(min / step - 1e-9) * step; tick <= max + step * 1e-9; tick += step) ticks.push(Number(tick.toPrecision(12)));
  return { ticks, digits: Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) };
}

/**
 * Histogram of g_i over the samples a feature is active in: linear bins (edges[b], edges[b + 1]],
 * stacked per dataset, with both axes labelled.
 */
export function FeatureHistogram({ edges, series }: { edges: number[]; series: HistogramSeries[] }) {
  const bins = Math.max(0, edges.length - 1);
  const data = Array.from({ length: bins }, (_, b) => {
    const row: Record<string, number | string> = { middle: (edges[b]! + edges[b + 1]!) / 2, range: `(${formatDecimal(edges[b], 2)}, ${formatDecimal(edges[b + 1], 2)}]` };
    for (const { name, counts } of series) row[name] = counts[b] ?? 0;
    return row;
  });
  const axis = niceTicks(edges[0] ?? 0, edges[bins] ?? 1);
  return (
    <figure className="chart histogram" data-testid="feature-histogram">
      <figcaption className="chart-title">Samples by activation g (where the feature is active)</figcaption>
      <ResponsiveContainer width="100%" height={180}>
        <BarChart data={data} margin={{ top: 4, right: 8, bottom: 18, left: 4 }} barCategoryGap={1}>
          <CartesianGrid stroke={chartTheme.grid} vertical={false} />
          <XAxis dataKey="middle" type="number" domain={[edges[0] ?? 0, edges[bins] ?? 1]} ticks={axis.ticks} interval={0} tick={chartTheme.tick} tickFormatter={(value: number) => formatDecimal(value, axis.digits)} label={{ value: 'g (max activation in a sample)', position: 'insideBottom', offset: -10, ...chartTheme.tick }} />
          <YAxis allowDecimals={false} tick={chartTheme.tick} width={40} tickFormatter={(value: number) => formatCount(value)} label={{ value: 'samples', angle: -90, position: 'insideLeft', offset: 12, ...chartTheme.tick }} />
          <Tooltip {...chartTheme.tooltip} labelFormatter={(_, payload) => `g in ${String(payload[0]?.payload?.range ?? '')}`} formatter={(value) => formatCount(Number(value))} />
          {series.length > 1 ? <Legend wrapperStyle={{ fontSize: 11 }} verticalAlign="top" height={20} /> : null}
          {series.map((entry, i) => (
            <Bar key={entry.name} dataKey={entry.name} stackId="g" fill={seriesColor(i)} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
