import { describe, expect, it } from 'vitest';
import { meanPairwiseCosineDistance, vendiScore } from '../../src/core/evaluate/embeddingDiversity.ts';
import { bigramEntropy, compressionRatio, distinctN, ngramDiversity, selfBleu, sentenceBleu, words } from '../../src/core/evaluate/textDiversity.ts';
import { gunzipSync, gzipSync } from 'node:zlib';

const bleuSet = ['the cat sat on the mat', 'the cat sat on a mat', 'a dog ran in the park'];

describe('text diversity (Facet definitions, reference values)', () => {
  it('distinct-n over the whole set: distinct-1 of "the the the the cat" = 2/5', () => {
    expect(distinctN(['the the the the cat'], 1)).toBeCloseTo(0.4, 12);
    // 2 texts: bigrams never cross texts
    expect(distinctN(['a b', 'b a'], 2)).toBe(1);
    expect(distinctN(['a b', 'a b'], 2)).toBe(0.5);
    expect(distinctN([''], 1)).toBe(0);
    expect(ngramDiversity(['a b c d'])).toBe(4);
  });

  it('bigram entropy in bits', () => {
    expect(bigramEntropy(['a b a b'])).toBeCloseTo(-((2 / 3) * Math.log2(2 / 3) + (1 / 3) * Math.log2(1 / 3)), 12);
    expect(bigramEntropy(['x y', 'x y'])).toBe(0);
  });

  it('self-BLEU without smoothing: BLEU-2 0.4939 (per item 0.7071, 0.7746, 0) and BLEU-4 0.3665', () => {
    const tokens = bleuSet.map(words);
    const perItem = tokens.map((hyp, i) => sentenceBleu(tokens.filter((_, j) => j !== i), hyp, 2));
    expect(perItem[0]).toBeCloseTo(0.7071, 4);
    expect(perItem[1]).toBeCloseTo(0.7746, 4);
    expect(perItem[2]).toBe(0);
    expect(selfBleu(bleuSet, 2).value).toBeCloseTo(0.4939, 4);
    expect(selfBleu(bleuSet, 4).value).toBeCloseTo(0.3665, 4);
    expect(selfBleu(['one text'], 4)).toEqual({ value: 0, scored: 0 });
  });

  it('compression ratio is bytes in / bytes of one gzip pass', () => {
    const texts = ['abc abc abc abc', 'abc abc'];
    const raw = Buffer.from(texts.join('\n'));
    expect(compressionRatio(texts)).toBe(raw.length / gzipSync(raw, { level: 9 }).length);
    expect(gunzipSync(gzipSync(raw, { level: 9 })).equals(raw)).toBe(true);
  });
});

describe('embedding diversity', () => {
  it('Vendi of n orthogonal items is n, of n identical items 1, either side of n = d', () => {
    const identity = (n: number): Float64Array => Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
    expect(vendiScore(identity(5), 5, 5)).toBeCloseTo(5, 10);
    // 3 orthogonal items in 7 dimensions (K path) and 7 items in 3 dimensions (XᵀX path): 4 copies of e0, e1, e2 → mixture
    const three = new Float64Array(3 * 7);
    three[0] = three[7 + 3] = three[14 + 6] = 2;
    expect(vendiScore(three, 3, 7)).toBeCloseTo(3, 10);
    const same = Float64Array.from({ length: 6 * 4 }, (_, i) => [1, -2, 0.5, 3][i % 4]!);
    expect(vendiScore(same, 6, 4)).toBeCloseTo(1, 10);
    const many = new Float64Array(7 * 3);
    [0, 0, 0, 0, 1, 1, 2].forEach((axis, i) => (many[i * 3 + axis] = 1));
    // eigenvalues of K/n: 4/7, 2/7, 1/7
    const p = [4 / 7, 2 / 7, 1 / 7];
    expect(vendiScore(many, 7, 3)).toBeCloseTo(Math.exp(-p.reduce((s, x) => s + x * Math.log(x), 0)), 10);
  });

  it('mean pairwise cosine distance against the direct double loop', () => {
    const x = Float64Array.from([1, 0, 0, 1, 1, 1, -1, 2]);
    let sum = 0;
    let pairs = 0;
    for (let i = 0; i < 4; i++) {
      for (let j = i + 1; j < 4; j++) {
        const a = [x[i * 2]!, x[i * 2 + 1]!];
        const b = [x[j * 2]!, x[j * 2 + 1]!];
        sum += (a[0]! * b[0]! + a[1]! * b[1]!) / (Math.hypot(a[0]!, a[1]!) * Math.hypot(b[0]!, b[1]!));
        pairs++;
      }
    }
    expect(meanPairwiseCosineDistance(x, 4, 2)).toBeCloseTo(1 - sum / pairs, 12);
  });
});
