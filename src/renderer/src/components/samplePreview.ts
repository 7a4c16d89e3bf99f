import type { SampleRow } from '../../../shared/datasetTypes.ts';

/**
 * One line of a sample for a list: the first user turn, or with `query` the stretch of text
 * (any turn, pair side, answer or label) around its first occurrence, with ellipses where cut.
 */
export function samplePreview(sample: SampleRow, query = '', width = 240): string {
  const first = sample.turns.find((turn) => turn.role === 'user') ?? sample.turns[0];
  const plain = (text: string) => text.replace(/\s+/g, ' ').trim();
  if (query === '') return plain(first?.content ?? '').slice(0, width);
  const texts = [
    ...sample.turns.map((turn) => turn.content),
    ...(sample.pair?.kind === 'preference' ? [...sample.pair.chosen, ...sample.pair.rejected].map((turn) => turn.content) : []),
    ...(sample.pair?.kind === 'ab' ? [sample.pair.matching, sample.pair.notMatching] : []),
    ...(sample.label !== undefined ? [sample.label] : []),
  ].map(plain);
  const needle = query.toLowerCase();
  const hit = texts.find((text) => text.toLowerCase().includes(needle));
  if (hit === undefined) return plain(first?.content ?? '').slice(0, width);
  const at = hit.toLowerCase().indexOf(needle);
  const start = Math.max(0, at - Math.floor((width - needle.length) / 2));
  const end = Math.min(hit.length, start + width);
  return `${start > 0 ? '…' : ''}${hit.slice(start, end)}${end < hit.length ? '…' : ''}`;
}
