import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { SteeringEvaluation } from '../../../../shared/evaluateTypes.ts';
import { formatCount, formatDecimal, formatPercent } from '../../../../shared/formatNumber.ts';
import { chartTheme, seriesColor } from '../../charts/chartTheme.ts';

const fileName = (path: string): string => path.split(/[\\/]/).pop() ?? path;

/** Robust accuracy against the multiplier, one line per evaluated vector, with each Steering Control Rate. */
export function SteeringCurves({ evaluations }: { evaluations: SteeringEvaluation[] }) {
  const name = (evaluation: SteeringEvaluation): string => `${fileName(evaluation.vector ?? '')} on ${evaluation.dataset}`;
  return (
    <div data-testid="steering-results">
      <div className="chart" data-testid="steering-curve">
        <div className="chart-title">Robust accuracy (right in both option orders) against the steering multiplier</div>
        <ResponsiveContainer width="100%" height={240}>
          <LineChart margin={{ top: 4, right: 12, bottom: 16, left: 0 }}>
            <CartesianGrid stroke={chartTheme.grid} />
            <XAxis dataKey="multiplier" type="number" domain={['dataMin', 'dataMax']} tick={chartTheme.tick} label={{ value: 'multiplier', position: 'insideBottom', offset: -8, ...chartTheme.tick }} allowDuplicatedCategory={false} />
            <YAxis domain={[0, 1]} tick={chartTheme.tick} width={44} tickFormatter={(value: number) => formatPercent(value, 0)} />
            <ReferenceLine x={0} stroke={chartTheme.axis} strokeDasharray="3 3" />
            <Tooltip {...chartTheme.tooltip} formatter={(value) => formatPercent(Number(value))} labelFormatter={(label) => `multiplier ${String(label)}`} />
            <Legend wrapperStyle={{ fontSize: 12 }} verticalAlign="top" />
            {evaluations.map((evaluation, i) => (
              <Line key={`${evaluation.vector}-${i}`} name={name(evaluation)} data={evaluation.multipliers} dataKey="robustAccuracy" stroke={seriesColor(i)} strokeWidth={2} dot={{ r: 3 }} isAnimationActive={false} />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
      <table className="grid">
        <thead>
          <tr>
            <th>vector</th>
            <th>layer</th>
            <th>items</th>
            <th title="robust accuracy at multiplier +1 minus at −1, in percentage points">Steering Control Rate</th>
          </tr>
        </thead>
        <tbody>
          {evaluations.map((evaluation, i) => (
            <tr key={`${evaluation.vector}-${i}`}>
              <td>
                <span style={{ color: seriesColor(i) }}>●</span> {name(evaluation)}
              </td>
              <td>l_out-{evaluation.layer}</td>
              <td>{formatCount(evaluation.items)}</td>
              <td data-testid={i === 0 ? 'steering-control-rate' : undefined}>{evaluation.steeringControlRate === null ? 'needs multipliers 1 and −1' : `${evaluation.steeringControlRate > 0 ? '+' : ''}${formatDecimal(evaluation.steeringControlRate * 100, 1)} points`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
