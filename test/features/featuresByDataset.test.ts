import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedupeSpans, getFeatureDetail, getFeatureSpans, listFeatureSpaces, queryFeatureTable } from '../../src/core/features/FeatureQueries.ts';
import { featureSpanContexts } from '../../src/core/features/featureSpanContexts.ts';
import { indexDataset } from '../../src/core/features/indexDataset.ts';
import { Store } from '../../src/core/store/Store.ts';
import type { FeatureSpan } from '../../src/shared/featureTypes.ts';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';
import { datasetTexts, forgeModelAndSae, populateWorkspace } from './featureFixtures.ts';
import { forgeFeatureIndex, type ForgedSample } from './forgeFeatureIndex.ts';

const sample = (entries: Record<number, [number, number]>): ForgedSample => new Map(Object.entries(entries).map(([f, v]) => [Number(f), v]));

describe('features by dataset on a forged index (hand-computed reference)', () => {
  const home = tempHome('facet-features-by-dataset-');
  let store: Store;
  let spaceId: number;
  let ids: Record<string, number>;

  beforeAll(() => {
    store = Store.open(join(home.path, 'facet.db'));
    const forged = forgeFeatureIndex(
      store,
      8,
      [
        { name: 'anchor', role: 'anchor', samples: [sample({ 0: [1, 3], 1: [2, 4] }), sample({ 0: [3, 5], 2: [0.5, 3] }), sample({ 1: [1, 6], 3: [4, 2] }), sample({ 0: [2, 2] })] },
        { name: 'seed', role: 'seed', samples: [sample({ 0: [0.5, 3], 4: [1.5, 3] }), sample({ 1: [2.5, 4] }), sample({ 4: [0.5, 2] })] },
        { name: 'evalset', role: 'eval', samples: [sample({ 2: [1, 2], 3: [1, 3] }), sample({ 5: [2, 2] })] },
      ],
      // every anchor span reads "Why" (the repeated span of the issue), the others their sample
      (dataset) => (ordinal, ranges) => ranges.map(() => (dataset === 'anchor' ? { prefix: '', peak: 'Why' } : { prefix: `${dataset} ${ordinal} `, peak: 'x' })),
    );
    spaceId = forged.space.id;
    ids = forged.datasetIds;
  });
  afterAll(() => {
    store?.close();
    home.remove();
  });

  it('gives every row its count, mean and max per dataset, and pooled numbers over all', () => {
    const page = queryFeatureTable(store, { spaceId, sort: 'feature', limit: 100 });
    expect(page.datasets!.map((d) => [d.name, d.role, d.samples])).toEqual([
      ['anchor', 'anchor', 4],
      ['seed', 'seed', 3],
      ['evalset', 'eval', 2],
    ]);
    expect(page.samples).toBe(9);
    expect(page.total).toBe(6);
    const row = (f: number) => page.rows.find((r) => r.feature === f)!;
    // feature 0: anchor 1, 3, 2; seed 0.5
    expect(row(0)).toMatchObject({ count: 4, mean: 6.5 / 4, max: 3 });
    expect(row(0).byDataset).toEqual([
      { count: 3, mean: 2, max: 3 },
      { count: 1, mean: 0.5, max: 0.5 },
      { count: 0, mean: 0, max: 0 },
    ]);
    // feature 3: anchor 4, eval 1
    expect(row(3)).toMatchObject({ count: 2, mean: 2.5, max: 4 });
    expect(row(3).byDataset!.map((s) => s.count)).toEqual([1, 0, 1]);
    expect(row(4).byDataset).toEqual([
      { count: 0, mean: 0, max: 0 },
      { count: 2, mean: 1, max: 1.5 },
      { count: 0, mean: 0, max: 0 },
    ]);
  });

  it('restricts counts, sort and activity to one dataset', () => {
    const page = queryFeatureTable(store, { spaceId, dataset: ids['seed']!, sort: 'count' });
    expect(page.samples).toBe(3);
    expect(page.dataset).toBe(ids['seed']);
    expect(page.rows.map((r) => [r.feature, r.count])).toEqual([
      [4, 2],
      [0, 1],
      [1, 1],
    ]);
    expect(page.rows[0]!.mean).toBe(1);
    // the per-dataset columns still show every dataset
    expect(page.rows[0]!.byDataset).toHaveLength(3);
  });

  it('filters "active in A, absent in B" both ways', () => {
    const missing = queryFeatureTable(store, { spaceId, activeIn: ids['anchor']!, absentIn: ids['seed']!, sort: 'feature' });
    expect(missing.rows.map((r) => r.feature)).toEqual([2, 3]);
    expect(missing.total).toBe(2);
    const extra = queryFeatureTable(store, { spaceId, activeIn: ids['seed']!, absentIn: ids['anchor']!, sort: 'feature' });
    expect(extra.rows.map((r) => r.feature)).toEqual([4]);
    // combined with a scope: counts are the anchor's
    const scoped = queryFeatureTable(store, { spaceId, dataset: ids['anchor']!, activeIn: ids['anchor']!, absentIn: ids['seed']!, sort: 'max' });
    expect(scoped.rows.map((r) => [r.feature, r.max])).toEqual([
      [3, 4],
      [2, 0.5],
    ]);
  });

  it('the CLI has the same filters: facet features table --dataset, --active-in, --absent-in (by name)', async () => {
    const missing = await runFacet(['features', 'table', '--space', String(spaceId), '--active-in', 'anchor', '--absent-in', 'seed', '--sort', 'feature', '--json'], home.path);
    expect(missing.code, missing.stderr).toBe(0);
    expect((JSON.parse(missing.stdout) as { rows: { feature: number }[] }).rows.map((r) => r.feature)).toEqual([2, 3]);
    const seed = await runFacet(['features', 'table', '--space', String(spaceId), '--dataset', 'seed', '--json'], home.path);
    expect((JSON.parse(seed.stdout) as { samples: number; rows: { feature: number; count: number }[] }).rows.map((r) => [r.feature, r.count])).toEqual([
      [4, 2],
      [0, 1],
      [1, 1],
    ]);
    const unknown = await runFacet(['features', 'table', '--space', String(spaceId), '--absent-in', 'nope'], home.path);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^Error \[NOT_FOUND\]: .*nope/);
  }, 60_000);

  it('refuses a dataset that is not indexed in the space, naming the field', () => {
    expect(() => queryFeatureTable(store, { spaceId, absentIn: 9999 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('absentIn') }));
    expect(() => getFeatureDetail(store, spaceId, 0, { dataset: 9999 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('bins the histogram per dataset on shared edges and scopes the detail to one dataset', () => {
    const detail = getFeatureDetail(store, spaceId, 0, { bins: 3 });
    expect(detail.histogram.edges).toEqual([0, 1, 2, 3]);
    expect(detail.histogram.counts).toEqual([2, 1, 1]);
    expect(detail.histogram.byDataset).toEqual([
      { datasetId: ids['anchor'], counts: [1, 1, 1] },
      { datasetId: ids['seed'], counts: [1, 0, 0] },
      { datasetId: ids['evalset'], counts: [0, 0, 0] },
    ]);
    expect(detail.datasets!.map((d) => [d.name, d.count, d.mean, d.max])).toEqual([
      ['anchor', 3, 2, 3],
      ['seed', 1, 0.5, 0.5],
      ['evalset', 0, 0, 0],
    ]);
    const seedOnly = getFeatureDetail(store, spaceId, 0, { bins: 3, dataset: ids['seed']! });
    expect([seedOnly.count, seedOnly.mean, seedOnly.max, seedOnly.samples]).toEqual([1, 0.5, 0.5, 3]);
    expect(seedOnly.spans.map((s) => s.dataset)).toEqual(['seed']);
  });

  it('merges spans of identical text into the highest one, keeping the others as duplicates', () => {
    const spans = getFeatureSpans(store, spaceId, 0, 10);
    expect(spans.map((s) => [s.dataset, s.ordinal, s.value, s.peakText])).toEqual([
      ['anchor', 1, 3, 'Why'],
      ['seed', 0, 0.5, 'x'],
    ]);
    expect(spans[0]!.duplicates!.map((d) => [d.ordinal, d.value])).toEqual([
      [3, 2],
      [0, 1],
    ]);
    // the limit counts distinct spans
    expect(getFeatureSpans(store, spaceId, 0, 1)).toHaveLength(1);
    const span = (prefixText: string, value: number): FeatureSpan => ({ dataset: 'd', datasetId: 1, ordinal: value, value, peak: 3, startToken: 0, prefixText, peakText: 'p' });
    // same peak token after a different prefix is a different span
    expect(dedupeSpans([span('a ', 3), span('b ', 2), span('a ', 1)]).map((s) => [s.prefixText, s.duplicates!.length])).toEqual([
      ['a ', 1],
      ['b ', 0],
    ]);
  });
});

describe('span contexts recomputed through the forged llama3 model and its SAE', () => {
  const home = tempHome('facet-span-context-');
  let store: Store;

  beforeAll(async () => {
    const forged = await forgeModelAndSae();
    store = Store.open(join(home.path, 'facet.db'));
    await populateWorkspace(store, home.path, { config: forged.config, weights: forged.weights });
    await indexDataset(store, home.path, { dataset: 'anchor', model: forged.modelPath, sae: 'test-sae', kv: 'f32', threads: 1, cpu: true, samplesPerBatch: 4 });
  }, 60_000);
  afterAll(() => {
    store?.close();
    home.remove();
  });

  it('shows tokens on both sides of the stored peak, with the feature’s code at each and the template’s control tokens marked', async () => {
    const space = listFeatureSpaces(store)[0]!;
    const top = queryFeatureTable(store, { spaceId: space.id, sort: 'max', limit: 3 }).rows;
    for (const row of top) {
      const spans = getFeatureSpans(store, space.id, row.feature, 3);
      const result = await featureSpanContexts(store, home.path, { spaceId: space.id, feature: row.feature, samples: spans.map((s) => ({ datasetId: s.datasetId, ordinal: s.ordinal })) });
      expect(result.contexts).toHaveLength(spans.length);
      result.contexts.forEach((context, i) => {
        const span = spans[i]!;
        expect(context.peak).toBe(span.peak);
        const atPeak = context.tokens.find((token) => token.position === context.peak)!;
        // the recomputed code at the stored peak is the stored g, and nothing in the sample exceeds it
        expect(atPeak.value).toBeCloseTo(span.value, 2);
        expect(context.g).toBeCloseTo(span.value, 2);
        for (const token of context.tokens) expect(token.value).toBeLessThanOrEqual(context.g + 1e-6);
        // contiguous positions from ≥ t0, and what follows the peak is shown
        expect(context.tokens[0]!.position).toBeGreaterThanOrEqual(context.t0);
        context.tokens.forEach((token, k) => expect(token.position).toBe(context.tokens[0]!.position + k));
        if (context.peak < context.tokenCount - 1) expect(context.tokens.at(-1)!.position).toBeGreaterThan(context.peak);
        // short samples fit whole: the sample's text is the non-control tokens' text, and the llama3 turn ends with a control token
        const text = datasetTexts['anchor']!.texts[context.ordinal]!;
        expect(context.tokens.filter((token) => !token.special).map((token) => token.text).join('')).toContain(text);
        expect(context.tokens.filter((token) => token.special).map((token) => token.text)).toContain('<|eot_id|>');
        expect(context.cutBefore).toBe(false);
      });
      // a second call answers from the cache
      const again = await featureSpanContexts(store, home.path, { spaceId: space.id, feature: row.feature, samples: spans.map((s) => ({ datasetId: s.datasetId, ordinal: s.ordinal })) });
      expect(again.seconds).toBe(0);
      expect(again.contexts).toEqual(result.contexts);
    }
  });
});
