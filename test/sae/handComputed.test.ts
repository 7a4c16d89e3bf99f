import { describe, expect, it } from 'vitest';
import type { SaeConfig } from '../../src/core/sae/SaeConfig.ts';
import { referenceEncode } from '../../src/core/sae/SaeReference.ts';
import { SaeSession } from '../../src/core/sae/SaeSession.ts';
import type { SaeWeights } from '../../src/core/sae/SaeWeights.ts';
import { testConfig } from './saeFixtures.ts';

/*
 * d_in = 3, d_sae = 4, worked out on paper:
 *   W_enc = [[1, 0, -1, 2], [0, 1, 1, -1], [2, -1, 0, 1]]   b_enc = [-1, 0.5, 0, 0.25]   b_dec = [1, 0, 1]
 * row 1: x = [1, 2, 3]  → x − b_dec = [0, 2, 2] → ·W_enc = [4, 0, 2, 0]  → pre = [3, 0.5, 2, 0.25]
 * row 2: x = [0, 0, 0]  → x − b_dec = [-1, 0, -1] → ·W_enc = [-3, 1, 1, -3] → pre = [-4, 1.5, 1, -2.75]
 * standard ReLU:              [3, 0.5, 2, 0.25]   [0, 1.5, 1, 0]
 * topk K=2:                   [3, 0, 2, 0]        [0, 1.5, 1, 0]
 * jumprelu θ=[2.5,0.4,2,0.1]: [3, 0.5, 0, 0.25]   [0, 1.5, 0, 0]   (2 > 2 is false: strictly above)
 * batchtopk θ=1.2:            [3, 0, 2, 0]        [0, 1.5, 0, 0]
 * tied decode of topk row 1: 3·[1, 0, 2] + 2·[-1, 1, 0] + b_dec = [1, 2, 6] + [1, 0, 1] = [2, 2, 7]
 *                   row 2: 1.5·[0, 1, -1] + 1·[-1, 1, 0] + b_dec = [-1, 2.5, -1.5] + [1, 0, 1] = [0, 2.5, -0.5]
 */
const weights: SaeWeights = {
  wEnc: Float32Array.from([1, 0, -1, 2, 0, 1, 1, -1, 2, -1, 0, 1]),
  bEnc: Float32Array.from([-1, 0.5, 0, 0.25]),
  wDec: null,
  bDec: Float32Array.from([1, 0, 1]),
  threshold: null,
};
const x = Float32Array.from([1, 2, 3, 0, 0, 0]);

const cases: Array<{ name: string; config: SaeConfig; threshold?: number[]; expected: number[] }> = [
  { name: 'standard', config: testConfig({ architecture: 'standard', dIn: 3, dSae: 4, tied: true }), expected: [3, 0.5, 2, 0.25, 0, 1.5, 1, 0] },
  { name: 'topk K=2', config: testConfig({ architecture: 'topk', dIn: 3, dSae: 4, k: 2, tied: true }), expected: [3, 0, 2, 0, 0, 1.5, 1, 0] },
  { name: 'jumprelu', config: testConfig({ architecture: 'jumprelu', dIn: 3, dSae: 4, tied: true }), threshold: [2.5, 0.4, 2, 0.1], expected: [3, 0.5, 0, 0.25, 0, 1.5, 0, 0] },
  { name: 'batchtopk θ=1.2', config: testConfig({ architecture: 'batchtopk', dIn: 3, dSae: 4, k: 2, threshold: 1.2, tied: true }), expected: [3, 0, 2, 0, 0, 1.5, 0, 0] },
];

describe('hand-computed 3×4 SAE', () => {
  for (const c of cases) {
    it(`${c.name}: onnxruntime and the float64 reference give the worked-out codes`, async () => {
      const w = { ...weights, threshold: c.threshold ? Float32Array.from(c.threshold) : null };
      const session = await SaeSession.create(c.config, w, { threads: 1, provider: 'cpu' });
      const codes = await session.encode(x, 2);
      expect(Array.from(codes)).toEqual(c.expected);
      expect(Array.from(referenceEncode(c.config, w, x, 2))).toEqual(c.expected);
      if (c.name === 'topk K=2') expect(Array.from(await session.decode(codes, 2))).toEqual([2, 2, 7, 0, 2.5, -0.5]);
      await session.dispose();
    });
  }
});
