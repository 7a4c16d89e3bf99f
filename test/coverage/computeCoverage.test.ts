import { describe, expect, it } from 'vitest';
import { computeCoverage } from '../../src/core/coverage/computeCoverage.ts';
import { FeatureBitset } from '../../src/core/coverage/FeatureBitset.ts';
import { summarizeSampleFeatures } from '../../src/core/coverage/summarizeSampleFeatures.ts';
import type { SampleFeatures } from '../../src/core/features/SampleFeatures.ts';
import { SampleMaximaReducer } from '../../src/core/features/SampleMaximaReducer.ts';
import { FacetError } from '../../src/shared/FacetError.ts';

/** A sample from {feature: g}. */
function sample(g: Record<number, number>): SampleFeatures {
  const features = Object.keys(g).map(Number).sort((a, b) => a - b);
  return { features: Uint32Array.from(features), values: Float32Array.from(features.map((f) => g[f]!)), peaks: new Uint32Array(features.length) };
}

const D = 8;
// anchor P: 4 samples over features 0..5; g values are exact in float32
const anchor = [sample({ 0: 2, 1: 0.5, 2: 1 }), sample({ 0: 4, 3: 0.25 }), sample({ 1: 1.5, 4: 3 }), sample({ 0: 1, 5: 0.75 })];
const seed = [sample({ 0: 0.5, 1: 2 }), sample({ 2: 0.5, 6: 8 })];
const evaluated = [sample({ 3: 1, 4: 0.5 }), sample({ 5: 2, 7: 1 })];

function run(thresholds: number[], features: number[] | null = null) {
  return computeCoverage({
    dSae: D,
    anchor: summarizeSampleFeatures(anchor, D),
    seedMaxima: summarizeSampleFeatures(seed, D).maxima,
    evalMaxima: summarizeSampleFeatures(evaluated, D).maxima,
    thresholds,
    features,
  }).results;
}

describe('FAC and variants on hand-built sample activations', () => {
  it('δ = 0: every positive g activates', () => {
    const [r] = run([0]);
    // F(P) = {0,1,2,3,4,5}; F(seed) = {0,1,2,6}; covered {0,1,2}; missing {3,4,5}
    expect(r!.anchorActive).toBe(6);
    expect(r!.seedActive).toBe(4);
    expect(r!.covered).toBe(3);
    expect(r!.fac).toBe(0.5);
    expect(r!.missing).toEqual([3, 4, 5]);
    // n_i/|P|: f0 3/4, f1 2/4, f2 1/4, f3 1/4, f4 1/4, f5 1/4 → covered 6/4 of 9/4
    expect(r!.facFreq).toBeCloseTo(6 / 9, 12);
    // mean g over activating anchor samples: f0 7/3, f1 1, f2 1, f3 0.25, f4 3, f5 0.75
    const m = [7 / 3, 1, 1, 0.25, 3, 0.75];
    expect(r!.facMagnitude).toBeCloseTo((m[0]! + m[1]! + m[2]!) / m.reduce((a, b) => a + b, 0), 12);
    // eval activates {3,4,5,7}: all three missing features
    expect(r!.evalActive).toBe(4);
    expect(r!.missingActivatedByEval).toBe(3);
    expect(r!.missingShareActivatedByEval).toBe(1);
    expect(r!.evalFac).toBe(0.5);
  });

  it('δ = 1 is strict: g = 1 does not activate; counts and means use only g > δ', () => {
    const [r] = run([1]);
    // F(P) at δ=1: f0 (2,4), f1 (1.5), f4 (3); f2 = 1 is not > 1. F(seed): f1 (2), f6 (8)
    expect(r!.anchorActive).toBe(3);
    expect(r!.seedActive).toBe(2);
    expect(r!.covered).toBe(1);
    expect(r!.missing).toEqual([0, 4]);
    expect(r!.fac).toBeCloseTo(1 / 3, 12);
    // freq: f0 2/4, f1 1/4, f4 1/4 → covered f1: (1/4)/(1)
    expect(r!.facFreq).toBeCloseTo(0.25, 12);
    // magnitude: f0 mean(2,4)=3, f1 1.5, f4 3 → 1.5 / 7.5
    expect(r!.facMagnitude).toBeCloseTo(0.2, 12);
    // eval at δ=1: f5 (2) only (f3 = 1, f7 = 1 are not > 1) → no missing feature activated
    expect(r!.evalActive).toBe(1);
    expect(r!.missingActivatedByEval).toBe(0);
    expect(r!.missingShareActivatedByEval).toBe(0);
  });

  it('several δ at once give the same numbers as one at a time, and F restricts every count', () => {
    const together = run([0, 1, 2.5]);
    expect(together[0]).toEqual(run([0])[0]);
    expect(together[1]).toEqual(run([1])[0]);
    // δ = 2.5: F(P) = {0 (4), 4 (3)}, F(seed) = {6}; nothing covered
    expect(together[2]).toMatchObject({ anchorActive: 2, seedActive: 1, covered: 0, fac: 0, facFreq: 0, facMagnitude: 0, missing: [0, 4] });
    const restricted = run([0], [0, 3, 6, 7])[0]!;
    // F ∩ F(P) = {0, 3}; F ∩ F(seed) = {0, 6}; covered {0}
    expect(restricted).toMatchObject({ anchorActive: 2, seedActive: 2, covered: 1, fac: 0.5, missing: [3] });
    expect(restricted.facFreq).toBeCloseTo(0.75 / 1, 12);
    expect(restricted.facMagnitude).toBeCloseTo((7 / 3) / (7 / 3 + 0.25), 12);
  });

  it('empty anchor activation gives null ratios; bad thresholds and feature ids are refused', () => {
    const [r] = run([10]);
    expect(r).toMatchObject({ anchorActive: 0, covered: 0, fac: null, facFreq: null, facMagnitude: null, missing: [], missingShareActivatedByEval: null });
    expect(() => run([-0.5])).toThrow(FacetError);
    expect(() => run([0], [8])).toThrow(/outside 0\.\.7/);
    expect(() => computeCoverage({ dSae: D, anchor: summarizeSampleFeatures(anchor, D), seedMaxima: new Float32Array(D), thresholds: [0.1], floor: 0.5 })).toThrow(/storage floor/);
  });
});

describe('FeatureBitset', () => {
  it('counts, intersects and lists members across word boundaries', () => {
    const values = new Float32Array(70);
    for (const i of [0, 31, 32, 33, 63, 64, 69]) values[i] = 1;
    const set = FeatureBitset.above(values, 0);
    expect(set.count()).toBe(7);
    expect(set.ids()).toEqual([0, 31, 32, 33, 63, 64, 69]);
    const other = FeatureBitset.fromIds(70, [31, 64, 5]);
    expect(set.and(other).ids()).toEqual([31, 64]);
    expect(set.andNot(other).ids()).toEqual([0, 32, 33, 63, 69]);
    expect(FeatureBitset.all(70).count()).toBe(70);
  });
});

describe('SampleMaximaReducer', () => {
  it('keeps per feature the max over rows and the first row reaching it', () => {
    // rows (token positions 5, 6, 7): {1: 0.5, 3: 2}, {1: 0.7, 3: 2}, {0: 0.1, 3: 1}
    const codes = { rows: 3, rowStart: Uint32Array.from([0, 2, 4, 6]), indices: Uint32Array.from([1, 3, 1, 3, 0, 3]), values: Float32Array.from([0.5, 2, 0.7, 2, 0.1, 1]) };
    const reducer = new SampleMaximaReducer(4);
    const out = reducer.reduce(codes, 0, 3, 5);
    expect([...out.features]).toEqual([0, 1, 3]);
    expect([...out.values]).toEqual([Math.fround(0.1), Math.fround(0.7), 2]);
    expect([...out.peaks]).toEqual([7, 6, 5]);
    // scratch is cleared between samples; a floor drops small maxima
    expect([...reducer.reduce(codes, 2, 1, 0).features]).toEqual([0, 3]);
    expect([...new SampleMaximaReducer(4, 0.6).reduce(codes, 0, 3, 0).features]).toEqual([1, 3]);
  });
});
