import { useEffect, useState } from 'react';
import type { CoverageMissingPage } from '../../../../shared/coverageTypes.ts';
import { formatCount, formatDecimal, plural } from '../../../../shared/formatNumber.ts';
import { api } from '../../api/connection.ts';
import { FeatureSpans } from '../FeatureSpans.tsx';
import { termTitle } from './CoverageTerms.tsx';

/** The Features page URL that opens one feature of a space (shareable, like the span links). */
export function featureHref(spaceId: number, feature: number): string {
  return `#/Features?${new URLSearchParams({ space: String(spaceId), feature: String(feature) }).toString()}`;
}

/** The missing features of a run at the δ picked (every δ of the run), with spans from the anchor only. */
export function CoverageMissingList({ runId, spaceId, anchorName, threshold, missingIds, onOpen }: { runId: number; spaceId: number; anchorName: string; threshold: number; missingIds: number[]; onOpen: (feature: number) => void }) {
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
              : `${plural(shown.total, 'feature')} of F(P) at δ = ${threshold} that no seed sample activates; ${shown.features.length < shown.total ? `the ${formatCount(shown.features.length)} most frequent in the anchor` : 'all of them'}, with their strongest spans in the anchor set '${anchorName}'.`}
          </p>
          {shown.features.map((missing) => (
            <div key={missing.feature} className="missing-feature" data-testid="missing-feature">
              <a
                href={featureHref(spaceId, missing.feature)}
                data-testid="missing-feature-link"
                onClick={(event) => {
                  // a plain click opens it in place (keeping the Features table's filters); Ctrl/middle-click and copy use the href
                  if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
                  event.preventDefault();
                  onOpen(missing.feature);
                }}
              >
                feature {missing.feature}
              </a>
              <span className="muted" title={termTitle('g')}>
                {' '}
                active in {plural(missing.anchorSamples, 'anchor sample')} (g &gt; {threshold}) · mean g {formatDecimal(missing.anchorMean)} · max g {formatDecimal(missing.anchorMax)}
              </span>
              <FeatureSpans spans={missing.spans} />
            </div>
          ))}
        </>
      ) : null}
      <details className="coverage-missing-ids">
        <summary>{missingIds.length === 1 ? 'The 1 missing feature id' : `All ${formatCount(missingIds.length)} missing feature ids`} at δ = {threshold}</summary>
        <p className="ids" data-testid="coverage-missing-ids">{missingIds.join(', ')}</p>
      </details>
    </div>
  );
}
