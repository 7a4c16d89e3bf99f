import { useEffect, useState } from 'react';
import type { CoverageComparison } from '../../../../shared/coverageTypes.ts';
import type { CoverageRunView } from '../../../../shared/featureTypes.ts';
import { formatCount, formatPercent } from '../../../../shared/formatNumber.ts';
import { api } from '../../api/connection.ts';
import { termTitle } from './CoverageTerms.tsx';

const runLabel = (run: { id: number; seed: string; anchor: string }): string => `run ${run.id} · ${run.seed} vs ${run.anchor}`;

function FeatureIds({ ids, onOpen, testId }: { ids: number[]; onOpen: (feature: number) => void; testId: string }) {
  if (ids.length === 0) return null;
  const shown = ids.slice(0, 60);
  return (
    <span className="ids" data-testid={testId}>
      {shown.map((id, i) => (
        <span key={id}>
          {i > 0 ? ', ' : ''}
          <button type="button" className="link" onClick={() => onOpen(id)}>
            {id}
          </button>
        </span>
      ))}
      {ids.length > shown.length ? ` … and ${formatCount(ids.length - shown.length)} more` : ''}
    </span>
  );
}

/** Run a (the open one) against run b: FAC per δ side by side, features newly covered and lost. */
export function CoverageCompare({ runId, otherId, runs, onPick, onOpen }: { runId: number; otherId: number | null; runs: CoverageRunView[]; onPick: (id: number | null) => void; onOpen: (feature: number) => void }) {
  const [comparison, setComparison] = useState<CoverageComparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setComparison(null);
    setError(null);
    if (otherId === null) return;
    let current = true;
    api
      .call('coverage.compare', { a: runId, b: otherId })
      .then((result) => current && setComparison(result))
      .catch((caught: unknown) => current && setError((caught as Error).message));
    return () => {
      current = false;
    };
  }, [runId, otherId]);
  const others = runs.filter((run) => run.id !== runId);
  return (
    <div data-testid="coverage-compare">
      <div className="form-row">
        <label>
          Compare with
          <select value={otherId ?? ''} onChange={(event) => onPick(event.target.value === '' ? null : Number(event.target.value))} data-testid="coverage-compare-run">
            <option value="">(pick another run)</option>
            {others.map((run) => (
              <option key={run.id} value={run.id}>
                {runLabel({ id: run.id, seed: run.result.seed.dataset, anchor: run.result.anchor.dataset })}
              </option>
            ))}
          </select>
        </label>
        {others.length === 0 ? <span className="muted">Measure another run (another seed, δ or task) to compare.</span> : null}
      </div>
      {error !== null ? <div className="error">{error}</div> : null}
      {comparison !== null ? (
        <>
          <table className="grid static" data-testid="coverage-compare-table">
            <thead>
              <tr>
                <th title={termTitle('delta')}>δ</th>
                <th title={termTitle('fac')}>FAC {runLabel(comparison.a)}</th>
                <th title={termTitle('fac')}>FAC {runLabel(comparison.b)}</th>
                <th>change</th>
                <th title={termTitle('facFreq')}>FAC freq a / b</th>
                <th title={termTitle('missing')}>missing a / b</th>
              </tr>
            </thead>
            <tbody>
              {comparison.rows.map((row) => (
                <tr key={row.threshold} data-testid="coverage-compare-row">
                  <td>{row.threshold}</td>
                  <td>{row.a === null ? 'not measured' : formatPercent(row.a.fac)}</td>
                  <td>{row.b === null ? 'not measured' : formatPercent(row.b.fac)}</td>
                  <td>{row.a?.fac != null && row.b?.fac != null ? `${row.b.fac >= row.a.fac ? '+' : '−'}${formatPercent(Math.abs(row.b.fac - row.a.fac))}` : '–'}</td>
                  <td>
                    {formatPercent(row.a?.facFreq)} / {formatPercent(row.b?.facFreq)}
                  </td>
                  <td>
                    {row.a === null ? '–' : formatCount(row.a.missing.length)} / {row.b === null ? '–' : formatCount(row.b.missing.length)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {comparison.note !== undefined ? <p className="help">{comparison.note}</p> : null}
          {comparison.features.map((entry) => (
            <div key={entry.threshold} className="compare-features">
              <p>
                <strong>δ = {entry.threshold}:</strong> covered by run {comparison.b.id} and not by run {comparison.a.id} (newly covered): <strong data-testid="coverage-newly-covered-count">{formatCount(entry.newlyCovered.length)}</strong>{entry.newlyCovered.length > 0 ? ' — ' : ' '}<FeatureIds ids={entry.newlyCovered} onOpen={onOpen} testId="coverage-newly-covered" />
              </p>
              <p>
                covered by run {comparison.a.id} and no longer by run {comparison.b.id} (lost): <strong data-testid="coverage-lost-count">{formatCount(entry.lost.length)}</strong>{entry.lost.length > 0 ? ' — ' : ' '}<FeatureIds ids={entry.lost} onOpen={onOpen} testId="coverage-lost" />
              </p>
            </div>
          ))}
        </>
      ) : null}
    </div>
  );
}
