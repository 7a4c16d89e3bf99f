/**
 * `npm run bench:compare`: feature matching between two spaces of 65,536 features over 10,000
 * shared samples (synthetic sample activations written to SQLite and finalised by the index code;
 * FACET_BENCH_PER_SAMPLE stored entries per sample and space, default 256, as in bench:index).
 * Space B is space A under a fixed permutation for 3 of 4 entries of a sample (values jittered by
 * ±20 %), plus unrelated entries, so best partners are meaningful but not trivial.
 *
 * seconds: reading both indexes from SQLite + best partners from sparse co-activation sums
 * (matchFeatures) + SVCCA/RSA with nulls over 256 pairs' activation profiles and synthetic decoder
 * directions (target ≤ 60 s on this machine).
 * recall: share of 200 random supported A features whose best partner matches the brute-force
 * float64 argmax over every supported B feature (dense x_a against each B column), ties within
 * 1e-9 counting as a match (target ≥ 0.95). The method is exact, so anything below 1 is a bug.
 *
 * Final line: {"bench":"compare","seconds":…,"recall":…}
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bestPairs, matchFeatures } from '../src/core/compare/matchFeatures.ts';
import { spaceSimilarity } from '../src/core/compare/spaceSimilarity.ts';
import { loadSparseSampleRows } from '../src/core/compare/SparseSampleRows.ts';
import { DatasetRepository } from '../src/core/datasets/DatasetRepository.ts';
import { FeatureIndexRepository } from '../src/core/features/FeatureIndexRepository.ts';
import { finalizeFeatureIndex } from '../src/core/features/finalizeFeatureIndex.ts';
import { encodeSampleFeatures } from '../src/core/features/SampleFeatures.ts';
import { Store } from '../src/core/store/Store.ts';

const dSae = 65_536;
const samples = 10_000;
const perSample = Number(process.env.FACET_BENCH_PER_SAMPLE ?? 256);
const minSupport = 5;
const recallSubset = 200;

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const workDir = mkdtempSync(join(tmpdir(), 'facet-compare-bench-'));
try {
  const store = Store.open(join(workDir, 'compare.db'));
  const repository = new FeatureIndexRepository(store.db);
  const datasets = new DatasetRepository(store.db);
  const insertSae = store.db.prepare(`INSERT INTO saes (name, hash, format, architecture, d_in, d_sae, k, layer, model_family, config, storage_dir, size_bytes, created_at) VALUES (?, ?, 'facet', 'topk', 4096, ?, 20, 15, null, '{}', 'none', 0, 'now')`);
  const spaceIds = ['a', 'b'].map((name) => {
    const saeId = Number(insertSae.run(`bench-${name}`, `bench-${name}`, dSae).lastInsertRowid);
    return repository.ensureSpace({ key: `bench-${name}`, saeId, modelHash: `bench-${name}`, modelName: `bench-${name}`, layer: 15, encodeMode: 'topk', template: true, maxTokens: 512, kv: 'f16', minActivation: 0, dSae }).id;
  });
  const datasetId = datasets.transaction(() => {
    const id = datasets.create('shared-10k', 'anchor', 'text', '/bench');
    datasets.updateCounts(id, samples, 0, 0, 'text');
    datasets.markReady(id);
    return id;
  });
  const draw = random(7);
  const permutation = Uint32Array.from({ length: dSae }, (_, i) => i);
  for (let i = dSae - 1; i > 0; i--) {
    const j = Math.floor(draw() * (i + 1));
    [permutation[i], permutation[j]] = [permutation[j]!, permutation[i]!];
  }
  // independent reference copies of the data: per B feature its (sample, value) list; per A feature its samples
  const columnsB: number[][] = Array.from({ length: dSae }, () => []);
  const columnsA: number[][] = Array.from({ length: dSae }, () => []);
  const indexes = spaceIds.map((spaceId) => repository.ensureIndex(spaceId, datasetId, samples));
  let started = performance.now();
  const mark = new Uint8Array(dSae);
  const pick = (chosen: Map<number, number>, feature: number, value: number): void => {
    if (mark[feature] === 0) {
      mark[feature] = 1;
      chosen.set(feature, value);
    }
  };
  for (let first = 0; first < samples; first += 1000) {
    repository.transaction(() => {
      for (let s = first; s < Math.min(samples, first + 1000); s++) {
        const a = new Map<number, number>();
        while (a.size < perSample) pick(a, Math.floor(dSae * draw() ** 2), Math.fround(-Math.log(Math.max(draw(), 1e-9))));
        for (const f of a.keys()) mark[f] = 0;
        const b = new Map<number, number>();
        for (const [f, v] of a) if (draw() < 0.75) pick(b, permutation[f]!, Math.fround(v * (0.8 + 0.4 * draw())));
        while (b.size < perSample) pick(b, Math.floor(dSae * draw() ** 2), Math.fround(-Math.log(Math.max(draw(), 1e-9))));
        for (const f of b.keys()) mark[f] = 0;
        [a, b].forEach((entries, side) => {
          const features = Uint32Array.from([...entries.keys()].sort((x, y) => x - y));
          const values = Float32Array.from(features, (f) => entries.get(f)!);
          const peaks = Uint32Array.from(features, () => 20);
          repository.insertSample(indexes[side]!.id, s, 20, 140, features.length, encodeSampleFeatures({ features, values, peaks }));
          const columns = side === 0 ? columnsA : columnsB;
          features.forEach((f, i) => columns[f]!.push(s, values[i]!));
        });
      }
      for (const index of indexes) repository.setIndexed(index.id, Math.min(samples, first + 1000), 0);
    });
  }
  for (const index of indexes) finalizeFeatureIndex(repository, index.id, { dSae, spanTexts: (_, ranges) => ranges.map(() => ({ prefix: 'synthetic', peak: ' span' })) });
  const buildSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  const rowsA = loadSparseSampleRows(repository, [indexes[0]!.id], dSae);
  const rowsB = loadSparseSampleRows(repository, [indexes[1]!.id], dSae);
  const loadSeconds = (performance.now() - started) / 1000;
  const matchStarted = performance.now();
  const matches = matchFeatures(rowsA, rowsB, { minSupport, top: 3 });
  const matchSeconds = (performance.now() - matchStarted) / 1000;
  const pairs = bestPairs(matches);
  const decoderDraw = random(9);
  const decoderA = Float32Array.from({ length: 64 * 2048 }, () => decoderDraw() - 0.5);
  const decoders = {
    a: { dIn: 64, row: (f: number) => decoderA.subarray((f % 2048) * 64, (f % 2048) * 64 + 64) },
    b: { dIn: 64, row: (f: number) => decoderA.subarray((f % 2048) * 64, (f % 2048) * 64 + 64) },
  };
  const similarityStarted = performance.now();
  const similarity = spaceSimilarity(pairs, rowsA, rowsB, decoders);
  const similaritySeconds = (performance.now() - similarityStarted) / 1000;
  const seconds = (performance.now() - started) / 1000;

  // brute force on a random subset of supported A features
  const pickDraw = random(13);
  const supportOf = (column: number[]) => column.length / 2;
  const stats = (column: number[]) => {
    let sum = 0;
    let squares = 0;
    for (let i = 1; i < column.length; i += 2) {
      sum += column[i]!;
      squares += column[i]! * column[i]!;
    }
    return { sum, squares };
  };
  const statsB = columnsB.map((column) => (supportOf(column) >= minSupport ? stats(column) : null));
  const bruteStarted = performance.now();
  const dense = new Float64Array(samples);
  let hits = 0;
  const subset = Array.from({ length: recallSubset }, () => Math.floor(pickDraw() * matches.supportedA.length));
  for (const k of subset) {
    const fa = matches.supportedA[k]!;
    const column = columnsA[fa]!;
    dense.fill(0);
    for (let i = 0; i < column.length; i += 2) dense[column[i]!] = column[i + 1]!;
    const { sum: sx, squares: sxx } = stats(column);
    let best = -Infinity;
    for (let fb = 0; fb < dSae; fb++) {
      const sb = statsB[fb];
      if (sb === null || sb === undefined) continue;
      const col = columnsB[fb]!;
      let sxy = 0;
      for (let i = 0; i < col.length; i += 2) sxy += dense[col[i]!]! * col[i + 1]!;
      const denominator = Math.sqrt((samples * sxx - sx * sx) * (samples * sb.squares - sb.sum * sb.sum));
      if (denominator === 0) continue;
      const r = (samples * sxy - sx * sb.sum) / denominator;
      if (r > best) best = r;
    }
    const mine = matches.partners[k * matches.top]!;
    const mineR = mine < 0 ? -Infinity : matches.correlations[k * matches.top]!;
    if (mine >= 0 && Math.abs(mineR - best) <= 1e-6) hits++;
  }
  const bruteSeconds = (performance.now() - bruteStarted) / 1000;
  const recall = hits / subset.length;
  const recovered = pairs.filter((p) => p.b === permutation[p.a]).length;
  console.log(
    `Synthetic index: 2 × ${dSae.toLocaleString('en-US')} features, ${samples.toLocaleString('en-US')} shared samples, ${perSample} entries per sample and space (built in ${buildSeconds.toFixed(1)} s).\n` +
      `Read both from SQLite ${loadSeconds.toFixed(2)} s; best partners (${matches.supportedA.length.toLocaleString('en-US')} supported A features, ${matches.pairUpdates.toLocaleString('en-US')} co-activation updates) ${matchSeconds.toFixed(2)} s; ` +
      `SVCCA/RSA over ${similarity.pairsUsed} pairs with ${similarity.nullRepeats} null pairings ${similaritySeconds.toFixed(2)} s.\n` +
      `Mutual pairs ${pairs.filter((p) => p.mutual).length.toLocaleString('en-US')}; planted partner found for ${recovered.toLocaleString('en-US')} of ${pairs.length.toLocaleString('en-US')}; profiles SVCCA ${similarity.profiles.svcca.value.toFixed(3)} (null ${similarity.profiles.svcca.null.toFixed(3)}), RSA ${similarity.profiles.rsa.value.toFixed(3)} (null ${similarity.profiles.rsa.null.toFixed(3)}).\n` +
      `Brute force over all ${statsB.filter((s) => s !== null).length.toLocaleString('en-US')} supported B features for ${subset.length} random A features: ${bruteSeconds.toFixed(1)} s; recall ${recall.toFixed(3)}.`,
  );
  store.close();
  console.log(JSON.stringify({ bench: 'compare', seconds: Number(seconds.toFixed(2)), recall }));
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
