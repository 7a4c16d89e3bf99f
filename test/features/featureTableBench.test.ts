import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFeatureDetail, queryFeatureTable } from '../../src/core/features/FeatureQueries.ts';
import { Store } from '../../src/core/store/Store.ts';
import { tempHome } from '../support/tempHome.ts';
import { forgeFeatureIndex, type ForgedSample } from './forgeFeatureIndex.ts';

const D_SAE = 65_536;
const SAMPLES = 1000;
const PER_SAMPLE = 128;

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Samples whose features follow a skewed (Zipf-like) frequency, as SAE features do. */
function samples(seed: number, count: number): ForgedSample[] {
  const next = random(seed);
  return Array.from({ length: count }, () => {
    const sample: ForgedSample = new Map();
    while (sample.size < PER_SAMPLE) sample.set(Math.floor(D_SAE * next() ** 3), [0.1 + 5 * next(), 2 + Math.floor(30 * next())]);
    return sample;
  });
}

function medianMs(run: () => void, times = 7): number {
  const took: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    run();
    took.push(performance.now() - start);
  }
  return took.sort((a, b) => a - b)[Math.floor(times / 2)]!;
}

describe(`feature table speed: ${D_SAE.toLocaleString('en-US')} features × 3 datasets × ${SAMPLES} samples × ${PER_SAMPLE} features each`, () => {
  const home = tempHome('facet-feature-bench-');
  let store: Store;
  let spaceId: number;
  let ids: Record<string, number>;

  beforeAll(() => {
    store = Store.open(join(home.path, 'facet.db'));
    const forged = forgeFeatureIndex(store, D_SAE, [
      { name: 'bench-anchor', role: 'anchor', samples: samples(1, SAMPLES) },
      { name: 'bench-seed', role: 'seed', samples: samples(2, SAMPLES) },
      { name: 'bench-eval', role: 'eval', samples: samples(3, SAMPLES) },
    ]);
    spaceId = forged.space.id;
    ids = forged.datasetIds;
  }, 120_000);
  afterAll(() => {
    store?.close();
    home.remove();
  });

  it('answers a table page with per-dataset columns, a dataset scope and the anchor-not-seed filter in tens of milliseconds', () => {
    const pooled = medianMs(() => queryFeatureTable(store, { spaceId, sort: 'count', limit: 100 }));
    const scoped = medianMs(() => queryFeatureTable(store, { spaceId, sort: 'max', dataset: ids['bench-seed']!, limit: 100 }));
    const missing = medianMs(() => queryFeatureTable(store, { spaceId, activeIn: ids['bench-anchor']!, absentIn: ids['bench-seed']!, limit: 100 }));
    const page = queryFeatureTable(store, { spaceId, activeIn: ids['bench-anchor']!, absentIn: ids['bench-seed']!, limit: 100 });
    const top = queryFeatureTable(store, { spaceId, sort: 'count', limit: 1 }).rows[0]!.feature;
    const detail = medianMs(() => getFeatureDetail(store, spaceId, top));
    console.log(`feature table (median of 7): pooled ${pooled.toFixed(1)} ms, one dataset ${scoped.toFixed(1)} ms, anchor-not-seed ${missing.toFixed(1)} ms (${page.total} features); detail of the most frequent feature ${detail.toFixed(1)} ms`);
    expect(page.total).toBeGreaterThan(0);
    for (const row of page.rows) expect(row.byDataset![1]!.count).toBe(0);
    // generous bounds for a loaded 2-core machine; the figures logged above are what counts
    expect(Math.max(pooled, scoped, missing)).toBeLessThan(500);
    expect(detail).toBeLessThan(500);
  });
});
