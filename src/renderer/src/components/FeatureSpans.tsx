import type { CSSProperties } from 'react';
import type { FeatureSpan, FeatureSpanContext } from '../../../shared/featureTypes.ts';
import { formatCount, formatDecimal } from '../../../shared/formatNumber.ts';
import { readableText, readableTokens, type ReadablePiece } from './readableTokens.ts';

/** The Datasets page URL that opens one sample (shareable; keeps the page's own query). */
export function sampleHref(datasetId: number, ordinal: number): string {
  return `#/Datasets?${new URLSearchParams({ dataset: String(datasetId), sample: String(ordinal) }).toString()}`;
}

export function contextKey(datasetId: number, ordinal: number): string {
  return `${datasetId}:${ordinal}`;
}

function Piece({ piece, scale, peak }: { piece: ReadablePiece; scale: number; peak: boolean }) {
  const shade = scale > 0 ? Math.min(1, piece.value / scale) : 0;
  const style = { '--act': shade.toFixed(3) } as CSSProperties;
  const title = piece.kind === 'chip' ? `${piece.raw}${piece.value > 0 ? ` · ${formatDecimal(piece.value)}` : ''}` : piece.value > 0 ? formatDecimal(piece.value) : undefined;
  const className = `${piece.kind === 'chip' ? 'template-chip' : 'span-token'}${shade > 0 ? ' active' : ''}${peak ? ' peak' : ''}`;
  return (
    <span className={className} style={style} title={title} data-testid={piece.kind === 'chip' ? 'template-chip' : undefined}>
      {piece.text}
    </span>
  );
}

/** Tokens around the peak, shaded by the feature's code at each (relative to `scale`), the peak outlined. */
function ContextText({ context, scale }: { context: FeatureSpanContext; scale: number }) {
  const pieces = readableTokens(context.tokens);
  return (
    <span className="span-text" data-testid="span-context">
      {context.cutBefore ? <span className="muted">…</span> : null}
      {pieces.map((piece, i) => (
        <Piece key={i} piece={piece} scale={scale} peak={piece.positions.includes(context.peak)} />
      ))}
      {context.cutAfter ? <span className="muted">…</span> : null}
    </span>
  );
}

/** The stored text only: the tokens before the peak (cut at 32 tokens, so an ellipsis) and the peak token. */
function StoredText({ span }: { span: FeatureSpan }) {
  return (
    <span className="span-text">
      <span className="muted">…</span>
      {readableText(span.prefixText).map((piece, i) => (
        <Piece key={i} piece={piece} scale={0} peak={false} />
      ))}
      {readableText(span.peakText).map((piece, i) => (
        <mark key={`p${i}`}>{piece.kind === 'chip' ? <span className="template-chip">{piece.text}</span> : piece.text}</mark>
      ))}
      <span className="muted">…</span>
    </span>
  );
}

/**
 * Top spans of a feature, one per distinct text (identical spans are folded into "+n identical"),
 * each with its context on both sides and per-token shading once the engine has recomputed it,
 * and a link to its sample on the Datasets page.
 */
export function FeatureSpans({ spans, contexts = new Map(), contextState = null }: { spans: FeatureSpan[]; contexts?: Map<string, FeatureSpanContext>; contextState?: string | null }) {
  if (spans.length === 0) return <p className="muted">No spans stored.</p>;
  const scale = Math.max(0, ...spans.map((span) => span.value), ...[...contexts.values()].map((context) => context.g));
  return (
    <>
      {contextState !== null ? <p className="muted help">{contextState}</p> : null}
      <ol className="spans">
        {spans.map((span) => {
          const context = contexts.get(contextKey(span.datasetId, span.ordinal));
          const duplicates = span.duplicates ?? [];
          return (
            <li key={contextKey(span.datasetId, span.ordinal)} data-testid="feature-span">
              {context !== undefined ? <ContextText context={context} scale={scale} /> : <StoredText span={span} />}
              <span className="muted span-meta">
                g {formatDecimal(span.value)} ·{' '}
                <a href={sampleHref(span.datasetId, span.ordinal)} data-testid="span-sample-link">
                  {span.dataset ?? `dataset ${span.datasetId}`} #{span.ordinal}
                </a>
                {duplicates.length > 0 ? (
                  <details className="span-duplicates">
                    <summary data-testid="span-duplicates">+{formatCount(duplicates.length)} identical</summary>
                    {duplicates.map((duplicate) => (
                      <a key={contextKey(duplicate.datasetId, duplicate.ordinal)} href={sampleHref(duplicate.datasetId, duplicate.ordinal)}>
                        {duplicate.dataset ?? `dataset ${duplicate.datasetId}`} #{duplicate.ordinal} ({formatDecimal(duplicate.value)})
                      </a>
                    ))}
                  </details>
                ) : null}
              </span>
            </li>
          );
        })}
      </ol>
    </>
  );
}
