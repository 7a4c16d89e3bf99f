import { throwIfAborted } from '../../shared/FacetError.ts';
import type { FeatureIndexRepository, StoredSpan } from './FeatureIndexRepository.ts';
import { decodeSampleFeatures, typedArrayBlob } from './SampleFeatures.ts';

/** A span is at most this many tokens, ending with (and including) the peak token. */
export const SPAN_TOKENS = 32;

/** Features per stored column chunk. */
const COLUMN_CHUNK_FEATURES = 4096;

/** Texts of token ranges `[start, peak]` of one sample: the tokens before the peak, and the peak token. */
export type SpanTextSource = (ordinal: number, ranges: readonly { start: number; peak: number }[]) => { prefix: string; peak: string }[];

export interface FinalizeOptions {
  dSae: number;
  /** Spans kept per feature. Defaults to 10 (the paper explains features from their top 10). */
  topSpans?: number;
  spanTexts: SpanTextSource;
  signal?: AbortSignal;
  /** Called inside the transaction that marks the index ready. */
  onCommit?: () => void;
}

/**
 * Turns the per-sample rows of a fully indexed dataset into what queries read: per-feature totals
 * (count, sum, max), the entries grouped by feature (column chunks) and the top spans per feature.
 * Reads the sample rows twice (count, then fill), so memory is ~12 bytes per stored entry. Writes
 * everything and marks the index ready in one transaction; running it again replaces the output.
 */
export function finalizeFeatureIndex(repository: FeatureIndexRepository, indexId: number, options: FinalizeOptions): { entries: number } {
  const { dSae } = options;
  const topSpans = options.topSpans ?? 10;
  const counts = new Uint32Array(dSae);
  const sums = new Float64Array(dSae);
  const maxima = new Float32Array(dSae);
  const t0s = new Map<number, number>();
  let entries = 0;
  for (const row of repository.samples(indexId)) {
    const sample = decodeSampleFeatures(row.entries);
    t0s.set(row.ordinal, row.t0);
    for (let i = 0; i < sample.features.length; i++) {
      const feature = sample.features[i]!;
      const value = sample.values[i]!;
      counts[feature]! += 1;
      sums[feature]! += value;
      if (value > maxima[feature]!) maxima[feature] = value;
    }
    entries += sample.features.length;
  }
  throwIfAborted(options.signal);

  const starts = new Uint32Array(dSae + 1);
  for (let f = 0; f < dSae; f++) starts[f + 1] = starts[f]! + counts[f]!;
  const values = new Float32Array(entries);
  const ordinals = new Uint32Array(entries);
  const peaks = new Uint32Array(entries);
  const cursor = starts.slice(0, dSae);
  for (const row of repository.samples(indexId)) {
    const sample = decodeSampleFeatures(row.entries);
    for (let i = 0; i < sample.features.length; i++) {
      const at = cursor[sample.features[i]!]!++;
      values[at] = sample.values[i]!;
      ordinals[at] = row.ordinal;
      peaks[at] = sample.peaks[i]!;
    }
  }
  throwIfAborted(options.signal);

  // top spans per feature: highest g first, then lowest ordinal
  const spans: StoredSpan[] = [];
  const chosen: number[] = [];
  const better = (a: number, b: number): boolean => values[a]! > values[b]! || (values[a] === values[b] && ordinals[a]! < ordinals[b]!);
  for (let f = 0; f < dSae; f++) {
    chosen.length = 0;
    for (let e = starts[f]!; e < starts[f + 1]!; e++) {
      if (chosen.length === topSpans && !better(e, chosen[topSpans - 1]!)) continue;
      let at = chosen.length === topSpans ? topSpans - 1 : chosen.length;
      if (chosen.length < topSpans) chosen.push(e);
      while (at > 0 && better(e, chosen[at - 1]!)) {
        chosen[at] = chosen[at - 1]!;
        at--;
      }
      chosen[at] = e;
    }
    chosen.forEach((e, rank) => {
      const peak = peaks[e]!;
      const start = Math.max(t0s.get(ordinals[e]!) ?? 0, peak - (SPAN_TOKENS - 1));
      spans.push({ indexId, feature: f, rank, ordinal: ordinals[e]!, value: values[e]!, peak, startToken: start, prefixText: '', peakText: '' });
    });
  }
  const byOrdinal = new Map<number, StoredSpan[]>();
  for (const span of spans) {
    const list = byOrdinal.get(span.ordinal);
    if (list === undefined) byOrdinal.set(span.ordinal, [span]);
    else list.push(span);
  }
  for (const [ordinal, list] of byOrdinal) {
    const texts = options.spanTexts(ordinal, list.map((span) => ({ start: span.startToken, peak: span.peak })));
    list.forEach((span, i) => {
      span.prefixText = texts[i]?.prefix ?? '';
      span.peakText = texts[i]?.peak ?? '';
    });
  }
  throwIfAborted(options.signal);

  repository.transaction(() => {
    repository.clearDerived(indexId);
    for (let first = 0; first < dSae; first += COLUMN_CHUNK_FEATURES) {
      const count = Math.min(COLUMN_CHUNK_FEATURES, dSae - first);
      const begin = starts[first]!;
      const end = starts[first + count]!;
      const chunkStarts = new Uint32Array(count + 1);
      for (let k = 0; k <= count; k++) chunkStarts[k] = starts[first + k]! - begin;
      repository.insertColumn(indexId, first, count, typedArrayBlob(chunkStarts), typedArrayBlob(values.subarray(begin, end)), typedArrayBlob(ordinals.subarray(begin, end)));
    }
    for (const span of spans) repository.insertSpan(span);
    repository.markReady(indexId, entries, typedArrayBlob(counts), typedArrayBlob(sums), typedArrayBlob(maxima));
    options.onCommit?.();
  });
  return { entries };
}
