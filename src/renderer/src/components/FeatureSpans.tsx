import type { FeatureSpan } from '../../../shared/featureTypes.ts';

/** Text spans ending at the peak token, which is highlighted. */
export function FeatureSpans({ spans }: { spans: FeatureSpan[] }) {
  if (spans.length === 0) return <p className="muted">No spans stored.</p>;
  return (
    <ol className="spans">
      {spans.map((span, i) => (
        <li key={i} data-testid="feature-span">
          <span className="span-text">
            {span.prefixText}
            <mark>{span.peakText}</mark>
          </span>
          <span className="muted span-meta">
            {span.value.toFixed(3)} · {span.dataset ?? `dataset ${span.datasetId}`} #{span.ordinal}
          </span>
        </li>
      ))}
    </ol>
  );
}
