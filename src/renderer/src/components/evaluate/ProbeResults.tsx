import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { ProbeReport } from '../../../../shared/evaluateTypes.ts';
import { formatCount, formatDecimal } from '../../../../shared/formatNumber.ts';
import { chartTheme, seriesColor } from '../../charts/chartTheme.ts';

const spread = (value: { mean: number; std: number } | null): string => (value === null ? '–' : `${formatDecimal(value.mean)} ± ${formatDecimal(value.std)}`);

/** A probe run: mean ± std per training configuration, every seed, and the precision–recall curves. */
export function ProbeResults({ report }: { report: ProbeReport }) {
  const classify = report.kind === 'classify';
  const label = (train: string[]): string => train.join(' + ');
  return (
    <div data-testid="probe-results">
      <p className="muted">
        {classify ? 'Logistic-regression' : 'Bradley–Terry'} head on {report.settings.features}; {report.settings.epochs} epochs, learning rate {report.settings.learningRate}, L2 {report.settings.l2}, seeds {report.settings.seeds.join(', ')}. Eval: {report.eval} ({formatCount(report.evalSamples)} {classify ? 'samples' : 'pairs'}).
      </p>
      <table className="grid">
        <thead>
          <tr>
            <th>training set</th>
            <th>samples</th>
            {classify ? (
              <>
                <th>AUPRC</th>
                <th>AUROC</th>
              </>
            ) : null}
            <th>{classify ? 'accuracy' : 'pairwise accuracy'}</th>
          </tr>
        </thead>
        <tbody>
          {report.runs.map((run, i) => (
            <tr key={label(run.train)} data-testid="probe-run">
              <td>
                <span style={{ color: seriesColor(i) }}>●</span> {label(run.train)}
              </td>
              <td>{formatCount(run.trainSamples)}</td>
              {classify ? (
                <>
                  <td>{spread(run.auprc)}</td>
                  <td>{spread(run.auroc)}</td>
                </>
              ) : null}
              <td>{spread(run.accuracy)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <details>
        <summary>Every seed</summary>
        <table className="grid" data-testid="probe-seeds">
          <thead>
            <tr>
              <th>training set</th>
              <th>seed</th>
              {classify ? (
                <>
                  <th>AUPRC</th>
                  <th>AUROC</th>
                </>
              ) : null}
              <th>accuracy</th>
            </tr>
          </thead>
          <tbody>
            {report.runs.flatMap((run) =>
              run.perSeed.map((seed) => (
                <tr key={`${label(run.train)}-${seed.seed}`}>
                  <td>{label(run.train)}</td>
                  <td>{seed.seed}</td>
                  {classify ? (
                    <>
                      <td>{formatDecimal(seed.auprc)}</td>
                      <td>{formatDecimal(seed.auroc)}</td>
                    </>
                  ) : null}
                  <td>{formatDecimal(seed.accuracy)}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      </details>
      {classify && report.runs.some((run) => (run.curve?.length ?? 0) > 0) ? (
        <div className="chart" data-testid="probe-pr-curve">
          <div className="chart-title">Precision–recall on {report.eval} (first seed of each training set; the step area is its AUPRC)</div>
          <ResponsiveContainer width="100%" height={240}>
            <LineChart margin={{ top: 4, right: 12, bottom: 16, left: 0 }}>
              <CartesianGrid stroke={chartTheme.grid} />
              <XAxis dataKey="recall" type="number" domain={[0, 1]} tick={chartTheme.tick} label={{ value: 'recall', position: 'insideBottom', offset: -8, ...chartTheme.tick }} />
              <YAxis dataKey="precision" type="number" domain={[0, 1]} tick={chartTheme.tick} width={40} label={{ value: 'precision', angle: -90, position: 'insideLeft', ...chartTheme.tick }} />
              <Tooltip {...chartTheme.tooltip} formatter={(value) => formatDecimal(Number(value))} />
              <Legend wrapperStyle={{ fontSize: 12 }} verticalAlign="top" />
              {report.runs.map((run, i) => (
                <Line key={label(run.train)} name={label(run.train)} data={run.curve ?? []} dataKey="precision" type="stepBefore" stroke={seriesColor(i)} strokeWidth={2} dot={false} isAnimationActive={false} />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </div>
      ) : null}
    </div>
  );
}
