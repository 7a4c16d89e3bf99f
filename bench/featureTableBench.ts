/**
 * `npm run bench:features`: the Features page's table queries on a forged index of 65,536
 * features × 3 datasets × 1,000 samples (128 active features each, Zipf-like frequencies):
 * pooled over all datasets, scoped to one dataset, "active in anchor, absent in seed", and one
 * feature's detail. The baseline, in the same process, reads the three indexes' per-feature
 * totals that every table query starts from; each figure is a median of 7 and is reported with
 * its ratio to that baseline. Prints one JSON line:
 * {"bench":"features","baselineMs":…,"pooledMs":…,"pooledRatio":…,"scopedMs":…,"absentMs":…,"detailMs":…}
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureIndexRepository } from '../src/core/features/FeatureIndexRepository.ts';
import { getFeatureDetail, queryFeatureTable } from '../src/core/features/FeatureQueries.ts';
import { Store } from '../src/core/store/Store.ts';
import { forgeFeatureIndex, type ForgedSample } from '../test/features/forgeFeatureIndex.ts';

const dSae = 65_536;
const samplesPerDataset = 1000;
const perSample = 128;

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

/** Samples whose features follow a skewed frequency, as SAE features do. */
function samples(seed: number): ForgedSample[] {
  const next = random(seed);
  return Array.from({ length: samplesPerDataset }, () => {
    const sample: ForgedSample = new Map();
    while (sample.size < perSample) sample.set(Math.floor(dSae * next() ** 3), [0.1 + 5 * next(), 2 + Math.floor(30 * next())]);
    return sample;
  });
}

function medianMs(run: () => unknown, times = 7): number {
  const took: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    run();
    took.push(performance.now() - start);
  }
  return took.sort((a, b) => a - b)[Math.floor(times / 2)]!;
}

const home = mkdtempSync(join(tmpdir(), 'facet-bench-features-'));
const store = Store.open(join(home, 'facet.db'));
try {
  const forged = forgeFeatureIndex(store, dSae, [
    { name: 'bench-anchor', role: 'anchor', samples: samples(1) },
    { name: 'bench-seed', role: 'seed', samples: samples(2) },
    { name: 'bench-eval', role: 'eval', samples: samples(3) },
  ]);
  const spaceId = forged.space.id;
  const anchor = forged.datasetIds['bench-anchor']!;
  const seed = forged.datasetIds['bench-seed']!;
  const repository = new FeatureIndexRepository(store.db);
  const indexIds = Object.values(forged.datasetIds).map((datasetId) => repository.index(spaceId, datasetId)!.id);

  const baselineMs = medianMs(() => indexIds.map((id) => repository.totals(id)));
  const pooledMs = medianMs(() => queryFeatureTable(store, { spaceId, sort: 'count', limit: 100 }));
  const scopedMs = medianMs(() => queryFeatureTable(store, { spaceId, sort: 'max', dataset: seed, limit: 100 }));
  const absentMs = medianMs(() => queryFeatureTable(store, { spaceId, activeIn: anchor, absentIn: seed, limit: 100 }));
  const absent = queryFeatureTable(store, { spaceId, activeIn: anchor, absentIn: seed, limit: 100 });
  const top = queryFeatureTable(store, { spaceId, sort: 'count', limit: 1 }).rows[0]!.feature;
  const detailMs = medianMs(() => getFeatureDetail(store, spaceId, top));
  const round = (value: number): number => Math.round(value * 10) / 10;
  process.stderr.write(
    `feature table over ${dSae.toLocaleString('en-US')} features × 3 × ${samplesPerDataset} samples (median of 7): totals read ${baselineMs.toFixed(1)} ms; ` +
      `pooled ${pooledMs.toFixed(1)} ms, one dataset ${scopedMs.toFixed(1)} ms, anchor-not-seed ${absentMs.toFixed(1)} ms (${absent.total} features), detail ${detailMs.toFixed(1)} ms\n`,
  );
  process.stdout.write(
    `${JSON.stringify({ bench: 'features', baselineMs: round(baselineMs), pooledMs: round(pooledMs), pooledRatio: Math.round((pooledMs / baselineMs) * 100) / 100, scopedMs: round(scopedMs), absentMs: round(absentMs), absentFeatures: absent.total, detailMs: round(detailMs) })}\n`,
  );
} finally {
  store.close();
  rmSync(home, { recursive: true, force: true });
}
