import { useEffect, useState } from 'react';
import type { DatasetSummary, SampleRow } from '../../../shared/datasetTypes.ts';
import { formatCount } from '../../../shared/formatNumber.ts';
import { api } from '../api/connection.ts';
import { guiErrorText } from '../guiErrorText.ts';
import { samplePreview } from './samplePreview.ts';

const pageSize = 50;

/** Samples containing the query (`datasets.search`), 50 a page, each row opening the sample; the match is marked. */
export function SampleSearchResults({ dataset, query, onOpen, openOrdinal }: { dataset: DatasetSummary; query: string; onOpen(sample: SampleRow): void; openOrdinal: number | null }) {
  const [offset, setOffset] = useState(0);
  const [result, setResult] = useState<{ total: number; samples: SampleRow[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setOffset(0), [dataset.id, query]);
  useEffect(() => {
    let stale = false;
    setError(null);
    api.call('datasets.search', { id: dataset.id, query, offset, limit: pageSize }).then(
      (found) => !stale && setResult(found),
      (caught: unknown) => !stale && setError(guiErrorText(caught, { controls: { query: 'Search samples' } })),
    );
    return () => {
      stale = true;
    };
  }, [dataset.id, query, offset]);
  if (error !== null) return <div className="error">{error}</div>;
  if (result === null) return <p className="muted">Searching…</p>;
  return (
    <div className="sample-results" data-testid="sample-results">
      <div className="muted" data-testid="sample-results-count">
        {result.total === 0
          ? `No sample of ${formatCount(dataset.sampleCount)} contains '${query}'.`
          : `${formatCount(result.total)} of ${formatCount(dataset.sampleCount)} samples contain '${query}'${result.total > pageSize ? `; ${formatCount(offset + 1)}–${formatCount(offset + result.samples.length)} shown` : ''}.`}
      </div>
      <ul className="result-list">
        {result.samples.map((sample) => (
          <li key={sample.id}>
            <button type="button" className={`result-row${sample.ordinal === openOrdinal ? ' selected' : ''}`} data-testid="search-row" onClick={() => onOpen(sample)}>
              <span className="col-n">#{sample.ordinal}</span>
              <span className="col-text">
                <Marked text={samplePreview(sample, query)} query={query} />
              </span>
            </button>
          </li>
        ))}
      </ul>
      {result.total > pageSize ? (
        <div className="form-row">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - pageSize))} data-testid="search-previous">
            Previous
          </button>
          <button type="button" disabled={offset + pageSize >= result.total} onClick={() => setOffset(offset + pageSize)} data-testid="search-next">
            Next
          </button>
        </div>
      ) : null}
    </div>
  );
}

/** The text with every case-insensitive occurrence of the query marked. */
function Marked({ text, query }: { text: string; query: string }) {
  const lower = text.toLowerCase();
  const needle = query.toLowerCase();
  const parts: { text: string; hit: boolean }[] = [];
  let at = 0;
  while (needle !== '') {
    const found = lower.indexOf(needle, at);
    if (found < 0) break;
    if (found > at) parts.push({ text: text.slice(at, found), hit: false });
    parts.push({ text: text.slice(found, found + needle.length), hit: true });
    at = found + needle.length;
  }
  parts.push({ text: text.slice(at), hit: false });
  return (
    <>
      {parts.map((part, i) => (part.hit ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>))}
    </>
  );
}
