import { useEffect, useState } from 'react';
import type { CoverageMissingPage } from '../../../../shared/coverageTypes.ts';
import { formatCount, formatDecimal } from '../../../../shared/formatNumber.ts';
import { api } from '../../api/connection.ts';
import { FeatureSpans } from '../FeatureSpans.tsx';
import { termTitle } from './CoverageTerms.tsx';

/** The missing features of a run at the δ picked (every δ of the run), with spans from the anchor only. */
export function CoverageMissingList({ runId, anchorName, threshold, missingIds, onOpen }: { runId: number; anchorName: string; threshold: number; missingIds: number[]; onOpen: (feature: number) => void }) {
  const [page, setPage] = useState<CoverageMissingPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    setError(null);
    api
      .call('coverage.missing', { id: runId, threshold, limit: 20 })
      .then((result) => current && setPage(result))
      .catch((caught: unknown) => current && setError((caught as Error).message));
    return () => {
      current = false;
    };
  }, [runId, threshold]);
  const shown = page !== null && page.runId === runId && page.threshold === threshold ? page : null;
  return (
    <div data-testid="coverage-missing">
      {error !== null ? <div className="error">{error}</div> : null}
      {shown === null && error === null ? <p className="muted">Loading…</p> : null}
      {shown !== null ? (
        <>
          <p className="help">
            {shown.total === 0
              ? 'None: the seed activates every feature the anchor does at this δ.'
              : `${formatCount(shown.total)} features of F(P) at δ = ${threshold} that no seed sample activates; ${shown.features.length < shown.total ? `the ${formatCount(shown.features.length)} most frequent in the anchor` : 'all of them'}, with their strongest spans in the anchor set '${anchorName}'.`}
          </p>
          {shown.features.map((missing) => (
            <div key={missing.feature} className="missing-feature" data-testid="missing-feature">
              <button type="button" className="link" onClick={() => onOpen(missing.feature)}>
                feature {missing.feature}
              </button>
              <span className="muted" title={termTitle('g')}>
                {' '}
                active in {formatCount(missing.anchorSamples)} anchor samples (g &gt; {threshold}) · mean g {formatDecimal(missing.anchorMean)} · max g {formatDecimal(missing.anchorMax)}
              </span>
              <FeatureSpans spans={missing.spans} />
            </div>
          ))}
        </>
      ) : null}
      <details>
        <summary>All {formatCount(missingIds.length)} missing feature ids at δ = {threshold}</summary>
        <p className="ids" data-testid="coverage-missing-ids">{missingIds.join(', ')}</p>
      </details>
    </div>
  );
}
