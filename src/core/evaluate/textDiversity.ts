import { gzipSync } from 'node:zlib';

/**
 * Text-diversity metrics over a set of texts, with Facet's definitions (the report prints them):
 * words are whitespace-separated tokens, case kept; n-grams never cross texts.
 */

export function words(text: string): string[] {
  return text.split(/\s+/).filter((word) => word.length > 0);
}

function ngrams(tokens: readonly string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join('\u0001'));
  return out;
}

/** distinct-n = unique n-grams / all n-grams over the whole set (0 when the set has none). */
export function distinctN(texts: readonly string[], n: number): number {
  const seen = new Set<string>();
  let total = 0;
  for (const text of texts) {
    for (const gram of ngrams(words(text), n)) {
      seen.add(gram);
      total++;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}

/** n-gram diversity score = Σ_{n=1..4} distinct-n (0 … 4). */
export function ngramDiversity(texts: readonly string[]): number {
  let sum = 0;
  for (let n = 1; n <= 4; n++) sum += distinctN(texts, n);
  return sum;
}

/** Shannon entropy (bits) of the bigram distribution over the whole set. */
export function bigramEntropy(texts: readonly string[]): number {
  const counts = new Map<string, number>();
  let total = 0;
  for (const text of texts) {
    for (const gram of ngrams(words(text), 2)) {
      counts.set(gram, (counts.get(gram) ?? 0) + 1);
      total++;
    }
  }
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / total;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

function countGrams(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const gram of ngrams(tokens, n)) counts.set(gram, (counts.get(gram) ?? 0) + 1);
  return counts;
}

/**
 * Sentence BLEU of `hypothesis` against several references, uniform weights over n = 1..maxN, no
 * smoothing: clipped n-gram precisions (each n-gram counted at most as often as in the reference
 * that has it most), brevity penalty from the reference length closest to the hypothesis (the
 * shorter on ties); 0 when any precision is 0.
 */
export function sentenceBleu(references: readonly (readonly string[])[], hypothesis: readonly string[], maxN: number): number {
  if (hypothesis.length === 0) return 0;
  let logSum = 0;
  for (let n = 1; n <= maxN; n++) {
    const hyp = countGrams(hypothesis, n);
    let total = 0;
    for (const count of hyp.values()) total += count;
    if (total === 0) return 0;
    const maxRef = new Map<string, number>();
    for (const reference of references) {
      for (const [gram, count] of countGrams(reference, n)) if (count > (maxRef.get(gram) ?? 0)) maxRef.set(gram, count);
    }
    let clipped = 0;
    for (const [gram, count] of hyp) clipped += Math.min(count, maxRef.get(gram) ?? 0);
    if (clipped === 0) return 0;
    logSum += Math.log(clipped / total) / maxN;
  }
  const c = hypothesis.length;
  let r = Infinity;
  for (const reference of references) {
    const length = reference.length;
    if (Math.abs(length - c) < Math.abs(r - c) || (Math.abs(length - c) === Math.abs(r - c) && length < r)) r = length;
  }
  const brevity = c > r ? 1 : Math.exp(1 - r / c);
  return brevity * Math.exp(logSum);
}

/**
 * Self-BLEU: the mean over texts of each text's BLEU-`maxN` against all the others. On sets larger
 * than `cap`, a seeded sample of `cap` texts is scored against the whole set (stated in the report).
 */
export function selfBleu(texts: readonly string[], maxN = 4, cap = 500, seed = 1): { value: number; scored: number } {
  const tokenized = texts.map(words);
  if (tokenized.length < 2) return { value: 0, scored: 0 };
  let chosen = tokenized.map((_, i) => i);
  if (chosen.length > cap) {
    let state = seed >>> 0;
    const next = (): number => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 4294967296;
    };
    for (let i = chosen.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
    }
    chosen = chosen.slice(0, cap);
  }
  let sum = 0;
  for (const i of chosen) sum += sentenceBleu(tokenized.filter((_, j) => j !== i), tokenized[i]!, maxN);
  return { value: sum / chosen.length, scored: chosen.length };
}

/** Compression ratio = UTF-8 bytes of the texts joined by newlines / bytes of one plain gzip pass (level 9). */
export function compressionRatio(texts: readonly string[]): number {
  const raw = Buffer.from(texts.join('\n'), 'utf8');
  if (raw.length === 0) return 0;
  return raw.length / gzipSync(raw, { level: 9 }).length;
}
