/** Lower-cased word n-grams of a text (words = runs of letters and digits). */
export function wordNgrams(text: string, n: number): Set<string> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const grams = new Set<string>();
  if (words.length === 0) return grams;
  if (words.length < n) {
    grams.add(words.join(' '));
    return grams;
  }
  for (let i = 0; i + n <= words.length; i++) grams.add(words.slice(i, i + n).join(' '));
  return grams;
}

/**
 * Near-duplicate check by word n-gram containment: the overlap of a candidate with a text is the
 * share of the candidate's distinct n-grams that also occur in that text; the candidate's overlap
 * is its largest over every text added so far (anchor, seed and accepted samples). Texts shorter
 * than n words count as one n-gram of all their words.
 */
export class NgramOverlapIndex {
  readonly n: number;
  private readonly postings = new Map<string, number[]>();
  private count = 0;

  constructor(n = 3) {
    this.n = n;
  }

  get size(): number {
    return this.count;
  }

  add(text: string): void {
    const id = this.count++;
    for (const gram of wordNgrams(text, this.n)) {
      const list = this.postings.get(gram);
      if (list === undefined) this.postings.set(gram, [id]);
      else list.push(id);
    }
  }

  /** Largest containment of the candidate in any indexed text (0 … 1; 0 for a text without words). */
  overlap(text: string): number {
    const grams = wordNgrams(text, this.n);
    if (grams.size === 0) return 0;
    const shared = new Map<number, number>();
    let best = 0;
    for (const gram of grams) {
      for (const id of this.postings.get(gram) ?? []) {
        const hits = (shared.get(id) ?? 0) + 1;
        shared.set(id, hits);
        if (hits > best) best = hits;
      }
    }
    return best / grams.size;
  }
}
