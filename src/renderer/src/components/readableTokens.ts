import type { FeatureContextToken } from '../../../shared/featureTypes.ts';

/** A piece of a span as shown: plain text, or a chip standing for chat-template control tokens. */
export interface ReadablePiece {
  kind: 'text' | 'chip';
  /** The text, or the chip's label ("user:", "end of turn"). */
  text: string;
  /** The template's own text behind a chip (its tooltip). */
  raw: string;
  /** Highest code among the tokens it stands for (0 for stored text). */
  value: number;
  /** Token positions it stands for. */
  positions: number[];
}

const turnStart = /^(start_header_id|im_start|start_of_turn|start_of_role)$/;
const turnHeaderEnd = /^(end_header_id|end_of_role)$/;
const turnEnd = /^(eot_id|im_end|end_of_turn|end_of_text|eos|\/s|end)$/;
const textStart = /^(begin_of_text|bos|s|startoftext)$/;

/** `<|eot_id|>` → `eot_id`, `<start_of_turn>` → `start_of_turn`, `</s>` → `/s`. */
function controlName(text: string): string {
  return text.replace(/^<\|?/, '').replace(/\|?>$/, '').trim();
}

function chipLabel(name: string): string {
  if (turnEnd.test(name)) return 'end of turn';
  if (textStart.test(name)) return 'start';
  return name.replace(/_/g, ' ');
}

/**
 * A span's tokens made readable: a turn header (`<|start_header_id|>user<|end_header_id|>\n\n`,
 * `<|im_start|>user\n`, `<start_of_turn>user\n`) becomes one "user:" chip, other control tokens a
 * chip with a plain name ("end of turn"), and text tokens stay text. Each piece keeps the highest
 * code of its tokens, so a feature peaking on a template token still shows where.
 */
export function readableTokens(tokens: readonly FeatureContextToken[]): ReadablePiece[] {
  const out: ReadablePiece[] = [];
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i]!;
    if (!token.special) {
      out.push({ kind: 'text', text: token.text, raw: token.text, value: token.value, positions: [token.position] });
      i++;
      continue;
    }
    const name = controlName(token.text);
    if (turnStart.test(name)) {
      // the role: text tokens up to the header's end token or the first line break
      let j = i + 1;
      let role = '';
      while (j < tokens.length && !tokens[j]!.special && !tokens[j]!.text.includes('\n')) role += tokens[j++]!.text;
      if (j < tokens.length && tokens[j]!.special && turnHeaderEnd.test(controlName(tokens[j]!.text))) j++;
      // the line break(s) after the header belong to it
      while (j < tokens.length && !tokens[j]!.special && tokens[j]!.text.trim() === '') j++;
      const group = tokens.slice(i, j);
      out.push({ kind: 'chip', text: role.trim() === '' ? 'turn' : `${role.trim()}:`, raw: group.map((t) => t.text).join(''), value: Math.max(...group.map((t) => t.value)), positions: group.map((t) => t.position) });
      i = j;
      continue;
    }
    out.push({ kind: 'chip', text: chipLabel(name), raw: token.text, value: token.value, positions: [token.position] });
    i++;
  }
  return out;
}

const controlPattern = /<\|[A-Za-z0-9_]+\|>|<\/?s>|<(?:start|end)_of_turn>/g;

/**
 * Stored span text (no token boundaries) with its control tokens as chips: the same labels as
 * {@link readableTokens}, a header's role folded into its chip.
 */
export function readableText(text: string): ReadablePiece[] {
  const tokens: FeatureContextToken[] = [];
  let last = 0;
  for (const match of text.matchAll(controlPattern)) {
    if (match.index > last) tokens.push({ position: -1, text: text.slice(last, match.index), value: 0, special: false });
    tokens.push({ position: -1, text: match[0], value: 0, special: true });
    last = match.index + match[0].length;
  }
  if (last < text.length) tokens.push({ position: -1, text: text.slice(last), value: 0, special: false });
  // a header's role and line break arrive as one text piece: split the break off so it joins the header
  const split = tokens.flatMap((token, k) => {
    const previous = tokens[k - 1];
    if (token.special || previous === undefined || !previous.special) return [token];
    if (turnHeaderEnd.test(controlName(previous.text))) return token.text.trim() === '' ? [] : [{ ...token, text: token.text.replace(/^\s+/, '') }];
    if (!turnStart.test(controlName(previous.text))) return [token];
    const at = token.text.indexOf('\n');
    return at < 0 ? [token] : [{ ...token, text: token.text.slice(0, at) }, { ...token, text: token.text.slice(at) }].filter((part) => part.text !== '');
  });
  return readableTokens(split).map((piece) => ({ ...piece, positions: [] }));
}
