import { useEffect, useState } from 'react';
import type { FeatureDetail, FeatureSpaceView, FeatureTablePage } from '../../../shared/featureTypes.ts';
import { api } from '../api/connection.ts';
import { FeatureHistogram } from '../components/FeatureHistogram.tsx';
import { FeatureSpans } from '../components/FeatureSpans.tsx';
import { useFeaturesStore } from '../stores/useFeaturesStore.ts';

type SortKey = 'feature' | 'count' | 'mean' | 'max';
const pageSize = 100;

export function spaceLabel(space: FeatureSpaceView): string {
  return `${space.modelName} · ${space.saeName ?? `SAE ${space.id}`} · l_out-${space.layer} · ${space.encodeMode}${space.template ? '' : ' · no template'}`;
}

/** Sortable feature table of one feature space, with a feature's histogram and top spans. */
export function FeaturesPage() {
  const { spaces, spaceId, feature, open } = useFeaturesStore();
  const [sort, setSort] = useState<SortKey>('count');
  const [descending, setDescending] = useState(true);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<FeatureTablePage | null>(null);
  const [detail, setDetail] = useState<FeatureDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const space = spaces.find((candidate) => candidate.id === spaceId) ?? null;

  useEffect(() => {
    if (spaceId === null) return;
    api.call('features.table', { spaceId, sort, descending, offset, limit: pageSize }).then(setPage, (caught: Error) => setError(caught.message));
  }, [spaceId, sort, descending, offset, spaces]);

  useEffect(() => {
    if (spaceId === null || feature === null) {
      setDetail(null);
      return;
    }
    api.call('features.detail', { spaceId, feature }).then(setDetail, (caught: Error) => setError(caught.message));
  }, [spaceId, feature, spaces]);

  function sortBy(key: SortKey): void {
    if (key === sort) setDescending(!descending);
    else {
      setSort(key);
      setDescending(key !== 'feature');
    }
    setOffset(0);
  }

  const header = (key: SortKey, label: string) => (
    <th className="sortable" onClick={() => sortBy(key)} data-testid={`sort-${key}`}>
      {label}
      {sort === key ? (descending ? ' ▼' : ' ▲') : ''}
    </th>
  );

  if (spaces.length === 0) {
    return (
      <div className="page">
        <section className="panel">
          <h2>Features</h2>
          <p className="muted">No feature index yet. Run a coverage measurement (Coverage page, or `facet coverage`), which indexes the datasets it needs.</p>
        </section>
      </div>
    );
  }

  return (
    <div className="page">
      <section className="panel">
        <div className="form-row">
          <h2 className="inline">Features</h2>
          <select value={spaceId ?? ''} onChange={(event) => open(Number(event.target.value), null)} data-testid="space-select">
            {spaces.map((candidate) => (
              <option key={candidate.id} value={candidate.id}>
                {spaceLabel(candidate)}
              </option>
            ))}
          </select>
        </div>
        {space !== null ? (
          <p className="muted">
            {space.dSae.toLocaleString()} features · indexed: {space.indexes.map((index) => `${index.datasetName ?? index.datasetId} (${index.indexedCount}/${index.sampleCount}${index.state === 'ready' ? '' : ', indexing'})`).join(', ')}
          </p>
        ) : null}
        {error !== null ? <div className="error">{error}</div> : null}
      </section>
      <div className="samples-split">
        <section className="panel grow">
          {page !== null ? (
            <>
              <table className="grid" data-testid="features-table">
                <thead>
                  <tr>
                    {header('feature', 'feature')}
                    {header('count', 'samples active')}
                    {header('mean', 'mean g')}
                    {header('max', 'max g')}
                  </tr>
                </thead>
                <tbody>
                  {page.rows.map((row) => (
                    <tr key={row.feature} className={row.feature === feature ? 'selected' : ''} onClick={() => spaceId !== null && open(spaceId, row.feature)} data-testid="feature-row">
                      <td>{row.feature}</td>
                      <td>{row.count}</td>
                      <td>{row.mean.toFixed(3)}</td>
                      <td>{row.max.toFixed(3)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <div className="form-row pager">
                <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - pageSize))}>
                  Previous
                </button>
                <span className="muted">
                  {page.total === 0 ? 0 : offset + 1}–{Math.min(offset + pageSize, page.total)} of {page.total.toLocaleString()} active features · {page.samples} samples
                </span>
                <button type="button" disabled={offset + pageSize >= page.total} onClick={() => setOffset(offset + pageSize)}>
                  Next
                </button>
              </div>
            </>
          ) : (
            <p className="muted">Loading…</p>
          )}
        </section>
        {detail !== null ? (
          <aside className="panel feature-detail" data-testid="feature-detail">
            <h2>Feature {detail.feature}</h2>
            <p>
              active in {detail.count} of {detail.samples} samples · mean {detail.mean.toFixed(3)} · max {detail.max.toFixed(3)}
            </p>
            <FeatureHistogram edges={detail.histogram.edges} counts={detail.histogram.counts} />
            <h3>Top spans</h3>
            <FeatureSpans spans={detail.spans} />
          </aside>
        ) : null}
      </div>
    </div>
  );
}
