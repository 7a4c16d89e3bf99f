import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COVERAGE_JOB, createCoverageJob } from '../../src/core/coverage/coverageJob.ts';
import { getCoverageRun, listCoverageRuns, measureCoverage, type CoverageReport } from '../../src/core/coverage/measureCoverage.ts';
import { JobRunner } from '../../src/core/jobs/JobRunner.ts';
import { ProbeModel } from '../../src/core/llama/ProbeModel.ts';
import { FeatureIndexRepository } from '../../src/core/features/FeatureIndexRepository.ts';
import { getFeatureDetail, getSampleActivations, listFeatureSpaces, queryFeatureTable, removeFeatureIndex } from '../../src/core/features/FeatureQueries.ts';
import { indexDataset, type FeatureIndexParams } from '../../src/core/features/indexDataset.ts';
import { decodeSampleFeatures } from '../../src/core/features/SampleFeatures.ts';
import type { SaeConfig } from '../../src/core/sae/SaeConfig.ts';
import type { SaeWeights } from '../../src/core/sae/SaeWeights.ts';
import { Store } from '../../src/core/store/Store.ts';
import { FacetError } from '../../src/shared/FacetError.ts';
import { tempHome } from '../support/tempHome.ts';
import { D_SAE, datasetTexts, forgeModelAndSae, populateWorkspace, referenceCoverage, referenceSampleActivations, type ReferenceSample } from './featureFixtures.ts';

describe('feature index on a forged llama3 model with a hand-built tied TopK SAE', () => {
  const home = tempHome('facet-features-');
  let store: Store;
  let modelPath: string;
  let sae: { config: SaeConfig; weights: SaeWeights };
  const reference: Record<string, ReferenceSample[]> = {};

  beforeAll(async () => {
    const forged = await forgeModelAndSae();
    modelPath = forged.modelPath;
    sae = { config: forged.config, weights: forged.weights };
    store = Store.open(join(home.path, 'facet.db'));
    await populateWorkspace(store, home.path, sae);
    for (const name of Object.keys(datasetTexts)) reference[name] = await referenceSampleActivations(modelPath, sae, datasetTexts[name]!.texts, 'architecture');
  });
  afterAll(() => {
    store?.close();
    home.remove();
  });

  const params = (dataset: string, extra: Partial<FeatureIndexParams> = {}): FeatureIndexParams => ({ dataset, model: modelPath, sae: 'test-sae', kv: 'f32', threads: 1, cpu: true, samplesPerBatch: 4, ...extra });

  it('refuses a layer the model does not have before writing any feature space or index row', async () => {
    const rows = () => store.db.prepare('SELECT (SELECT count(*) FROM feature_spaces) AS spaces, (SELECT count(*) FROM feature_indexes) AS indexes').get();
    const before = rows();
    await expect(indexDataset(store, home.path, params('anchor', { layer: 40 }))).rejects.toMatchObject({ code: 'LAYER_OUT_OF_RANGE' });
    expect(rows()).toEqual(before);
  });

  it('stores per sample g_i = max over t ≥ t0 with its peak, matching direct capture + float64 encode', async () => {
    const summary = await indexDataset(store, home.path, params('anchor'));
    expect(summary.alreadyIndexed).toBe(false);
    expect(summary.samples).toBe(datasetTexts['anchor']!.texts.length);
    const repository = new FeatureIndexRepository(store.db);
    let compared = 0;
    let worst = 0;
    for (const row of repository.samples(summary.indexId)) {
      const expected = reference['anchor']![row.ordinal]!;
      expect(row.t0).toBe(expected.t0);
      expect(row.t0).toBeGreaterThan(1); // from the llama3 template, not a constant
      expect(row.tokenCount).toBe(expected.tokens);
      const stored = decodeSampleFeatures(row.entries);
      expect([...stored.features]).toEqual([...expected.g.keys()].sort((a, b) => a - b));
      stored.features.forEach((feature, i) => {
        const [value, peak] = expected.g.get(feature)!;
        worst = Math.max(worst, Math.abs(stored.values[i]! - value) / Math.max(1, value));
        expect(stored.peaks[i]).toBe(peak);
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(100);
    // packed capture vs alone (float32 order) and float32 ORT vs float64 reference
    expect(worst).toBeLessThan(1e-4);
  });

  it('re-indexing the same key is a no-op; an interrupted index resumes where it stopped and matches', async () => {
    const again = await indexDataset(store, home.path, params('anchor'));
    expect(again.alreadyIndexed).toBe(true);

    const controller = new AbortController();
    let batches = 0;
    await expect(
      indexDataset(store, home.path, params('evalset'), {
        signal: controller.signal,
        onProgress: (progress) => {
          if (progress.phase === 'index' && ++batches === 1) controller.abort();
        },
      }),
    ).rejects.toSatisfy((error: unknown) => error instanceof FacetError && error.code === 'CANCELLED');
    const repository = new FeatureIndexRepository(store.db);
    const partial = repository.listSpaces().flatMap((space) => repository.indexesOfSpace(space.id)).find((index) => index.datasetName === 'evalset')!;
    expect(partial.state).toBe('indexing');
    expect(partial.indexedCount).toBeGreaterThanOrEqual(4);
    expect(partial.indexedCount).toBeLessThan(datasetTexts['evalset']!.texts.length);
    const resumed = await indexDataset(store, home.path, params('evalset'));
    expect(resumed.resumedFrom).toBe(partial.indexedCount);
    for (const row of repository.samples(resumed.indexId)) {
      const stored = decodeSampleFeatures(row.entries);
      expect([...stored.features]).toEqual([...reference['evalset']![row.ordinal]!.g.keys()].sort((a, b) => a - b));
    }
  });

  it('without the template, t0 is the first token after BOS and the sample is the raw text', async () => {
    const summary = await indexDataset(store, home.path, params('seed', { template: false }));
    const model = await ProbeModel.load(modelPath, { gpu: false });
    try {
      const repository = new FeatureIndexRepository(store.db);
      for (const row of repository.samples(summary.indexId)) {
        expect(row.t0).toBe(1);
        expect(row.tokenCount).toBe(model.tokenize(datasetTexts['seed']!.texts[row.ordinal]!).length);
      }
    } finally {
      model.dispose();
    }
    expect(summary.spaceId).not.toBe((await indexDataset(store, home.path, params('anchor'))).spaceId);
  });

  it('coverage from the index equals the recomputation from raw captures and float64 codes', async () => {
    const thresholds = [0, 2.5, 3];
    // the check is only meaningful if no reference g sits within float error of a δ
    for (const set of Object.values(reference)) for (const sample of set) for (const [value] of sample.g.values()) for (const d of thresholds) expect(Math.abs(value - d)).toBeGreaterThan(1e-4);
    const report = await measureCoverage(store, home.path, { model: modelPath, sae: 'test-sae', kv: 'f32', threads: 1, cpu: true, anchor: 'anchor', seed: 'seed', eval: 'evalset', thresholds });
    expect(report.indexing.map((entry) => entry.dataset)).toEqual(['seed']);
    report.results.forEach((result, j) => {
      const expected = referenceCoverage(reference['anchor']!, reference['seed']!, reference['evalset']!, thresholds[j]!);
      expect(result.anchorActive).toBe(expected['anchorActive']);
      expect(result.seedActive).toBe(expected['seedActive']);
      expect(result.covered).toBe(expected['covered']);
      expect(result.missing).toEqual(expected['missing']);
      expect(result.fac).toBeCloseTo(expected['fac'] as number, 12);
      expect(result.facFreq).toBeCloseTo(expected['facFreq'] as number, 9);
      expect(result.facMagnitude).toBeCloseTo(expected['facMagnitude'] as number, 4);
      expect(result.missingActivatedByEval).toBe(expected['missingActivatedByEval']);
      expect(result.evalActive).toBe(expected['evalActive']);
    });
    expect(report.results[0]!.missing.length).toBeGreaterThan(0);
    // the δ values matter here: fewer features stay active as δ grows
    expect(report.results[2]!.anchorActive).toBeLessThan(report.results[1]!.anchorActive);
    expect(report.results[1]!.anchorActive).toBeLessThan(report.results[0]!.anchorActive);
    expect(report.results[0]!.fac).toBeLessThan(1);
    const top = report.topMissing[0]!;
    expect(report.results[0]!.missing).toContain(top.feature);
    expect(top.spans.length).toBeGreaterThan(0);
  });

  it('runs a coverage measurement as a job (the UI path) with the same answer and a saved run', async () => {
    const jobs = new JobRunner(store);
    jobs.register(createCoverageJob(store, home.path));
    const request = { model: modelPath, sae: 'test-sae', kv: 'f32' as const, threads: 1, cpu: true, anchor: 'anchor', seed: 'seed', thresholds: [0, 2.5] };
    const job = jobs.submit(COVERAGE_JOB, request);
    const final = await jobs.wait(job.id);
    await jobs.close();
    expect(final.state).toBe('done');
    const report = final.result as CoverageReport;
    const expected = [0, 2.5].map((d) => referenceCoverage(reference['anchor']!, reference['seed']!, null, d));
    expect(report.results.map((r) => [r.anchorActive, r.covered, r.missing])).toEqual(expected.map((e) => [e['anchorActive'], e['covered'], e['missing']]));
    expect(final.done).toBe(final.total);
    const saved = getCoverageRun(store, report.runId);
    expect(saved.result.results).toEqual(report.results);
    expect(listCoverageRuns(store).map((run) => run.id)).toContain(report.runId);
  });

  it('answers the feature table, one feature’s histogram and spans over every indexed dataset', () => {
    const space = listFeatureSpaces(store).find((candidate) => candidate.template);
    expect(space!.indexes.filter((index) => index.state === 'ready').map((index) => index.datasetName).sort()).toEqual(['anchor', 'evalset', 'seed']);
    const page = queryFeatureTable(store, { spaceId: space!.id, sort: 'count', limit: 5 });
    const all = Object.values(reference).flat();
    const counts = new Map<number, number>();
    for (const sample of all) for (const feature of sample.g.keys()) counts.set(feature, (counts.get(feature) ?? 0) + 1);
    expect(page.total).toBe(counts.size);
    expect(page.samples).toBe(all.length);
    const topCount = Math.max(...counts.values());
    expect(page.rows[0]!.count).toBe(topCount);
    const byMax = queryFeatureTable(store, { spaceId: space!.id, sort: 'max', limit: 1 }).rows[0]!;
    const feature = byMax.feature;
    const values = all.map((sample) => sample.g.get(feature)?.[0]).filter((v): v is number => v !== undefined);
    expect(byMax.max).toBeCloseTo(Math.max(...values), 4);
    const detail = getFeatureDetail(store, space!.id, feature, { bins: 4, spans: 5 });
    expect(detail.count).toBe(values.length);
    expect(detail.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 4);
    expect(detail.histogram.counts.reduce((a, b) => a + b, 0)).toBe(values.length);
    expect(detail.histogram.counts[3]).toBeGreaterThanOrEqual(1);
    // best span: the sample with the highest g, ending at its peak token, ≤ 32 tokens, text present
    const best = detail.spans[0]!;
    expect(best.value).toBeCloseTo(Math.max(...values), 4);
    expect(best.peak - best.startToken).toBeLessThan(32);
    expect(best.peakText.length).toBeGreaterThan(0);
    const texts = [...Object.entries(datasetTexts)].find(([name]) => name === best.dataset)![1].texts;
    expect(texts[best.ordinal]!).toContain((best.prefixText + best.peakText).trim().split(/\s+/).filter((w) => /^[a-z]+$/.test(w)).at(-1) ?? '');
    for (let i = 1; i < detail.spans.length; i++) expect(detail.spans[i]!.value).toBeLessThanOrEqual(detail.spans[i - 1]!.value);
    expect(D_SAE).toBe(space!.dSae);
    // one sample's activations, strongest first
    const anchorIndex = space!.indexes.find((index) => index.datasetName === 'anchor')!;
    const activations = getSampleActivations(store, space!.id, anchorIndex.datasetId, 3);
    const expectedSample = reference['anchor']![3]!;
    expect(activations.map((a) => a.feature).sort((a, b) => a - b)).toEqual([...expectedSample.g.keys()].sort((a, b) => a - b));
    for (let i = 1; i < activations.length; i++) expect(activations[i]!.value).toBeLessThanOrEqual(activations[i - 1]!.value);
    expect(activations[0]!.peak).toBe(expectedSample.g.get(activations[0]!.feature)![1]);
    // removing an index takes its spans and totals with it
    const evalIndex = space!.indexes.find((index) => index.datasetName === 'evalset')!;
    removeFeatureIndex(store, evalIndex.id);
    expect(listFeatureSpaces(store).find((candidate) => candidate.id === space!.id)!.indexes.map((index) => index.datasetName)).not.toContain('evalset');
    expect(queryFeatureTable(store, { spaceId: space!.id }).samples).toBe(all.length - datasetTexts['evalset']!.texts.length);
  });
});
