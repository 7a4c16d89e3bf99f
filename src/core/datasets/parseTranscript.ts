import type { ChatTurn } from '../../shared/datasetTypes.ts';

const marker = /\n\n(Human|Assistant):[ ]?/g;

/**
 * Splits an Anthropic-style transcript `"\n\nHuman: …\n\nAssistant: …"` into turns.
 * Returns undefined when the text has no such markers (a plain response).
 */
export function parseTranscript(text: string): ChatTurn[] | undefined {
  const normalized = /^(Human|Assistant):/.test(text) ? `\n\n${text}` : text;
  const turns: ChatTurn[] = [];
  let match: RegExpExecArray | null;
  let previous: { role: ChatTurn['role']; start: number } | undefined;
  marker.lastIndex = 0;
  let first = true;
  while ((match = marker.exec(normalized)) !== null) {
    if (first && match.index > 0 && normalized.slice(0, match.index).trim() !== '') {
      turns.push({ role: 'user', content: normalized.slice(0, match.index).trim() });
    }
    first = false;
    if (previous !== undefined) turns.push({ role: previous.role, content: normalized.slice(previous.start, match.index).trim() });
    previous = { role: match[1] === 'Human' ? 'user' : 'assistant', start: match.index + match[0].length };
  }
  if (previous === undefined) return undefined;
  turns.push({ role: previous.role, content: normalized.slice(previous.start).trim() });
  return turns;
}
