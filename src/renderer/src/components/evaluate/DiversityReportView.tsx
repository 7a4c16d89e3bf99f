import { Bar, BarChart, CartesianGrid, Cell, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { DatasetDiversity, DiversityReport } from '../../../../shared/evaluateTypes.ts';
import { formatCount, formatDecimal, formatPercent } from '../../../../shared/formatNumber.ts';
import { chartTheme, seriesColor } from '../../charts/chartTheme.ts';

/** The report's metrics in display order; `better` says which direction means more diverse. */
const metrics: { key: keyof DatasetDiversity; label: string; better: 'higher' | 'lower'; digits: number; pairwise?: true }[] = [
  { key: 'distinct1', label: 'distinct-1', better: 'higher', digits: 3 },
  { key: 'distinct2', label: 'distinct-2', better: 'higher', digits: 3 },
  { key: 'ngramDiversity', label: 'n-gram diversity', better: 'higher', digits: 3 },
  { key: 'bigramEntropy', label: 'bigram entropy', better: 'higher', digits: 2 },
  { key: 'selfBleu4', pairwise: true, label: 'self-BLEU-4', better: 'lower', digits: 3 },
  { key: 'compressionRatio', label: 'compression ratio', better: 'lower', digits: 2 },
  { key: 'embeddingCosineDistance', pairwise: true, label: 'embedding cosine distance', better: 'higher', digits: 3 },
  { key: 'vendi', pairwise: true, label: 'Vendi score', better: 'higher', digits: 2 },
];

/** Long dataset names are cut on the bar charts' axes (the table and tooltips give them whole). */
const shortName = (name: string): string => (name.length > 14 ? `${name.slice(0, 13)}…` : name);

/** A histogram edge: whole token counts as they are, fractional ones with one decimal. */
const edgeLabel = (edge: number | undefined): string => (edge === undefined ? '' : Number.isInteger(edge) ? formatCount(edge) : formatDecimal(edge, 1));

/** A measure between samples says nothing about a set of one sample: shown as n/a, not as a best score. */
function metricValue(dataset: DatasetDiversity, metric: (typeof metrics)[number]): number | null {
  return metric.pairwise === true && dataset.size < 2 ? null : (dataset[metric.key] as number);
}

function MetricBars({ report, metric }: { report: DiversityReport; metric: (typeof metrics)[number] }) {
  const data = report.datasets.map((dataset) => ({ name: dataset.name, value: metricValue(dataset, metric) }));
  return (
    <div className="chart" data-testid="report-metric-chart">
      <div className="chart-title">
        {metric.label} <span className="muted">({metric.better} = more diverse)</span>
      </div>
      <ResponsiveContainer width="100%" height={150}>
        <BarChart data={data} margin={{ top: 4, right: 8, bottom: 4, left: 0 }}>
          <CartesianGrid stroke={chartTheme.grid} vertical={false} />
          <XAxis dataKey="name" tick={chartTheme.tick} interval={0} tickFormatter={shortName} />
          <YAxis tick={chartTheme.tick} width={44} tickFormatter={(value: number) => formatDecimal(value, metric.digits > 2 ? 2 : 1)} />
          <Tooltip {...chartTheme.tooltip} formatter={(value) => formatDecimal(Number(value), metric.digits)} />
          <Bar dataKey="value" isAnimationActive={false}>
            {data.map((entry, i) => (
              <Cell key={entry.name} fill={seriesColor(i)} />
            ))}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

function FacChart({ report }: { report: DiversityReport }) {
  const data = report.thresholds.map((threshold) => {
    const row: Record<string, number | null> = { threshold };
    for (const dataset of report.datasets) row[dataset.name] = dataset.coverage.find((entry) => entry.threshold === threshold)?.fac ?? null;
    return row;
  });
  return (
    <div className="chart" data-testid="report-fac-chart">
      <div className="chart-title">FAC against δ (anchor {report.anchor})</div>
      <ResponsiveContainer width="100%" height={200}>
        <LineChart data={data} margin={{ top: 4, right: 12, bottom: 16, left: 0 }}>
          <CartesianGrid stroke={chartTheme.grid} />
          <XAxis dataKey="threshold" type="number" domain={['dataMin', 'dataMax']} ticks={report.thresholds} tick={chartTheme.tick} label={{ value: 'δ (activation threshold)', position: 'insideBottom', offset: -8, ...chartTheme.tick }} />
          <YAxis domain={[0, 1]} tick={chartTheme.tick} width={44} tickFormatter={(value: number) => formatPercent(value, 0)} />
          <Tooltip {...chartTheme.tooltip} formatter={(value) => formatPercent(Number(value))} labelFormatter={(label) => `δ = ${String(label)}`} />
          <Legend wrapperStyle={{ fontSize: 12 }} verticalAlign="top" />
          {report.datasets.map((dataset, i) => (
            <Line key={dataset.name} dataKey={dataset.name} stroke={seriesColor(i)} strokeWidth={2} dot={{ r: 3 }} isAnimationActive={false} connectNulls />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

function LengthHistogram({ dataset, index }: { dataset: DatasetDiversity; index: number }) {
  const { edges, counts } = dataset.tokenHistogram;
  // bins share quantile edges across datasets, so a bin can hold one length only ("9", not "9–9"),
  // and neighbouring bins can read the same: those are shown as one bar
  const data: { bin: string; count: number }[] = [];
  counts.forEach((count, i) => {
    const bin = edgeLabel(edges[i]) === edgeLabel(edges[i + 1]) ? edgeLabel(edges[i]) : `${edgeLabel(edges[i])}–${edgeLabel(edges[i + 1])}`;
    const last = data.at(-1);
    if (last !== undefined && last.bin === bin) last.count += count;
    else data.push({ bin, count });
  });
  return (
    <div className="chart" data-testid="report-length-chart">
      <div className="chart-title">
        {dataset.name}: length in tokens (mean {formatDecimal(dataset.meanTokens, 1)}, median {formatDecimal(dataset.medianTokens, 0)})
      </div>
      <ResponsiveContainer width="100%" height={150}>
        <BarChart data={data} margin={{ top: 4, right: 8, bottom: 4, left: 0 }} barCategoryGap={1}>
          <CartesianGrid stroke={chartTheme.grid} vertical={false} />
          <XAxis dataKey="bin" tick={chartTheme.tick} minTickGap={8} />
          <YAxis tick={chartTheme.tick} width={36} allowDecimals={false} />
          <Tooltip {...chartTheme.tooltip} formatter={(value) => [formatCount(Number(value)), 'samples']} />
          <Bar dataKey="count" fill={seriesColor(index)} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

/**
 * The diversity report in the app: every measure of every dataset in one table (the one view for
 * seed vs guided vs plain synthesis), FAC against δ, a bar chart per metric and the length
 * histograms, with the report's own definitions. The downloadable HTML file says the same offline.
 */
export function DiversityReportView({ report }: { report: DiversityReport }) {
  return (
    <div className="report" data-testid="report-view">
      <p className="muted">
        {report.model}, SAE {report.sae} at l_out-{report.layer}; FAC against the anchor {report.anchor}. Embeddings: {report.embedding}. {report.lengthMatching.replace(/\.?$/, '.')}
      </p>
      <table className="grid" data-testid="report-table">
        <thead>
          <tr>
            <th>dataset</th>
            <th>size</th>
            <th>mean tokens</th>
            {report.thresholds.map((threshold) => (
              <th key={threshold}>FAC δ={threshold}</th>
            ))}
            {metrics.map((metric) => (
              <th key={metric.key} title={report.definitions[metric.key] ?? ''}>
                {metric.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {report.datasets.map((dataset, i) => (
            <tr key={dataset.name} data-testid="report-row">
              <td>
                <span style={{ color: seriesColor(i) }}>●</span> {dataset.name}
              </td>
              <td>{formatCount(dataset.size)}</td>
              <td>{formatDecimal(dataset.meanTokens, 1)}</td>
              {report.thresholds.map((threshold) => (
                <td key={threshold}>{formatPercent(dataset.coverage.find((entry) => entry.threshold === threshold)?.fac ?? null)}</td>
              ))}
              {metrics.map((metric) => (
                <td key={metric.key}>{metricValue(dataset, metric) === null ? <span className="muted" title="needs at least two samples">n/a</span> : formatDecimal(metricValue(dataset, metric), metric.digits)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="charts-row">
        <FacChart report={report} />
      </div>
      <div className="charts-row">
        {metrics.map((metric) => (
          <MetricBars key={metric.key} report={report} metric={metric} />
        ))}
      </div>
      <div className="charts-row">
        {report.datasets.map((dataset, i) => (
          <LengthHistogram key={dataset.name} dataset={dataset} index={i} />
        ))}
      </div>
      <details className="help">
        <summary>How each measure is defined</summary>
        <dl className="terms">
          {Object.entries(report.definitions).map(([term, definition]) => (
            <div key={term} style={{ display: 'contents' }}>
              <dt>{term}</dt>
              <dd>{definition}</dd>
            </div>
          ))}
        </dl>
      </details>
    </div>
  );
}
