import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis, ZAxis } from 'recharts';
import type { CoverageScatter, CoverageScatterPoint } from '../../../../shared/coverageTypes.ts';
import type { CoverageAtThreshold } from '../../../../shared/featureTypes.ts';
import { formatCount, formatPercent, plural } from '../../../../shared/formatNumber.ts';
import { chartTheme, seriesColor } from '../../charts/chartTheme.ts';
import { termTitle } from './CoverageTerms.tsx';

/** FAC, FAC freq, FAC magnitude (and the evaluated set's share of missing features) against δ. */
export function FacByThresholdChart({ results, evalName }: { results: CoverageAtThreshold[]; evalName?: string | undefined }) {
  const data = results.map((row) => ({ threshold: row.threshold, fac: row.fac, facFreq: row.facFreq, facMagnitude: row.facMagnitude, evalShare: row.missingShareActivatedByEval ?? null }));
  const series: { key: keyof (typeof data)[number]; name: string }[] = [
    { key: 'fac', name: 'FAC' },
    { key: 'facFreq', name: 'FAC freq' },
    { key: 'facMagnitude', name: 'FAC magnitude' },
    ...(evalName !== undefined ? [{ key: 'evalShare' as const, name: `missing covered by ${evalName}` }] : []),
  ];
  return (
    <div className="chart" data-testid="coverage-fac-chart">
      <div className="chart-title" title={termTitle('fac')}>
        FAC against the threshold δ{results.length === 1 ? ' (one δ measured: add more to see a curve)' : ''}
      </div>
      <ResponsiveContainer width="100%" height={chartTheme.height}>
        <LineChart data={data} margin={{ top: 4, right: 16, bottom: 18, left: 4 }}>
          <CartesianGrid stroke={chartTheme.grid} />
          <XAxis dataKey="threshold" type="number" domain={['dataMin', 'dataMax']} ticks={results.map((row) => row.threshold)} interval={0} tick={chartTheme.tick} label={{ value: 'δ (activated when g > δ)', position: 'insideBottom', offset: -8, ...chartTheme.tick }} />
          <YAxis domain={[0, 1]} tick={chartTheme.tick} width={44} tickFormatter={(value: number) => formatPercent(value, 0)} />
          <Tooltip {...chartTheme.tooltip} formatter={(value) => formatPercent(value === null ? null : Number(value))} labelFormatter={(label) => `δ = ${String(label)}`} />
          <Legend verticalAlign="top" height={28} wrapperStyle={{ fontSize: 12 }} />
          {series.map((entry, i) => (
            <Line key={entry.key} name={entry.name} dataKey={entry.key} stroke={seriesColor(i)} strokeWidth={2} dot={{ r: 3 }} isAnimationActive={false} connectNulls />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

/**
 * Per feature of F: the share of anchor samples that activate it (x) against the share of seed
 * samples (y). Missing features lie on the x axis (the seed never activates them).
 */
export function ActivationScatterChart({ scatter, onOpen }: { scatter: CoverageScatter; onOpen: (feature: number) => void }) {
  const missing = scatter.points.filter((point) => point.missing);
  const others = scatter.points.filter((point) => !point.missing);
  const label = (point: CoverageScatterPoint): string => `feature ${point.feature}: anchor ${formatPercent(point.anchor)}, seed ${formatPercent(point.seed)}${point.missing ? ' (missing)' : ''}`;
  return (
    <div className="chart" data-testid="coverage-scatter">
      <div className="chart-title" title={termTitle('frequency')}>
        Activation frequency per feature at δ = {scatter.threshold}: anchor against seed
        {scatter.points.length < scatter.total ? ` (${formatCount(scatter.points.length)} of ${formatCount(scatter.total)} features: every missing one, then the most frequent)` : ` (${plural(scatter.total, 'feature')})`}
      </div>
      <ResponsiveContainer width="100%" height={chartTheme.height}>
        <ScatterChart margin={{ top: 4, right: 16, bottom: 18, left: 4 }}>
          <CartesianGrid stroke={chartTheme.grid} />
          <XAxis dataKey="anchor" type="number" domain={[0, 1]} tick={chartTheme.tick} tickFormatter={(value: number) => formatPercent(value, 0)} label={{ value: `share of ${plural(scatter.anchorSamples, 'anchor sample')}`, position: 'insideBottom', offset: -8, ...chartTheme.tick }} />
          <YAxis dataKey="seed" type="number" domain={[0, 1]} tick={chartTheme.tick} width={44} tickFormatter={(value: number) => formatPercent(value, 0)} label={{ value: 'seed share', angle: -90, position: 'insideLeft', ...chartTheme.tick }} />
          <ZAxis range={[22, 22]} />
          <ReferenceLine segment={[{ x: 0, y: 0 }, { x: 1, y: 1 }]} stroke={chartTheme.axis} strokeDasharray="3 3" />
          <Tooltip {...chartTheme.tooltip} content={({ payload }) => {
            const point = payload?.[0]?.payload as CoverageScatterPoint | undefined;
            return point === undefined ? null : <div style={chartTheme.tooltip.contentStyle} className="chart-tooltip">{label(point)}</div>;
          }} />
          <Legend verticalAlign="top" height={28} wrapperStyle={{ fontSize: 12 }} />
          <Scatter name={`active in the seed (${formatCount(others.length)})`} data={others} fill={seriesColor(0)} fillOpacity={0.6} isAnimationActive={false} onClick={(point: { payload?: CoverageScatterPoint }) => point.payload && onOpen(point.payload.feature)} />
          <Scatter name={`missing (${formatCount(missing.length)})`} data={missing} fill={chartTheme.bad} isAnimationActive={false} onClick={(point: { payload?: CoverageScatterPoint }) => point.payload && onOpen(point.payload.feature)} />
        </ScatterChart>
      </ResponsiveContainer>
    </div>
  );
}
