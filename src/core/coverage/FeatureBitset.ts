/** A set of feature ids `0 .. size − 1` as 32-bit words; set algebra and counts run word by word. */
export class FeatureBitset {
  readonly size: number;
  readonly words: Uint32Array;

  constructor(size: number, words?: Uint32Array) {
    this.size = size;
    this.words = words ?? new Uint32Array(Math.ceil(size / 32));
  }

  /** Features whose value is strictly above `threshold`, intersected with `within` when given. */
  static above(values: Float32Array, threshold: number, within: FeatureBitset | null = null): FeatureBitset {
    const set = new FeatureBitset(values.length);
    const words = set.words;
    for (let i = 0; i < values.length; i++) if (values[i]! > threshold) words[i >>> 5]! |= 1 << (i & 31);
    return within === null ? set : set.and(within);
  }

  static fromIds(size: number, ids: Iterable<number>): FeatureBitset {
    const set = new FeatureBitset(size);
    for (const id of ids) set.add(id);
    return set;
  }

  static all(size: number): FeatureBitset {
    const set = new FeatureBitset(size);
    set.words.fill(0xffffffff);
    const tail = size & 31;
    if (tail !== 0) set.words[set.words.length - 1] = (1 << tail) - 1;
    return set;
  }

  add(id: number): void {
    this.words[id >>> 5]! |= 1 << (id & 31);
  }

  has(id: number): boolean {
    return ((this.words[id >>> 5]! >>> (id & 31)) & 1) === 1;
  }

  and(other: FeatureBitset): FeatureBitset {
    const out = new FeatureBitset(this.size);
    for (let w = 0; w < out.words.length; w++) out.words[w] = this.words[w]! & (other.words[w] ?? 0);
    return out;
  }

  andNot(other: FeatureBitset): FeatureBitset {
    const out = new FeatureBitset(this.size);
    for (let w = 0; w < out.words.length; w++) out.words[w] = this.words[w]! & ~(other.words[w] ?? 0);
    return out;
  }

  count(): number {
    let total = 0;
    for (let w = 0; w < this.words.length; w++) {
      let v = this.words[w]!;
      v -= (v >>> 1) & 0x55555555;
      v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
      total += (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
    }
    return total;
  }

  /** Member ids, ascending. */
  ids(): number[] {
    const out: number[] = [];
    for (let w = 0; w < this.words.length; w++) {
      let v = this.words[w]!;
      while (v !== 0) {
        const bit = 31 - Math.clz32(v & -v);
        out.push(w * 32 + bit);
        v &= v - 1;
      }
    }
    return out;
  }
}
