import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetRepository } from '../../src/core/datasets/DatasetRepository.ts';
import { FeatureIndexRepository } from '../../src/core/features/FeatureIndexRepository.ts';
import { indexDataset } from '../../src/core/features/indexDataset.ts';
import { decodeSampleFeatures } from '../../src/core/features/SampleFeatures.ts';
import { getCoverageRun } from '../../src/core/coverage/measureCoverage.ts';
import { ProbeModel } from '../../src/core/llama/ProbeModel.ts';
import { activationOf } from '../../src/core/synthesis/FeatureMeter.ts';
import { PerplexityScorer } from '../../src/core/synthesis/PerplexityScorer.ts';
import { SynthesisRepository } from '../../src/core/synthesis/SynthesisRepository.ts';
import { replaceSyntheticSample } from '../../src/core/synthesis/syntheticSamples.ts';
import { FacetEngine } from '../../src/engine/FacetEngine.ts';
import type { SynthesisReport } from '../../src/shared/synthesisTypes.ts';
import { forgeModelAndSae, referenceSampleActivations } from '../features/featureFixtures.ts';
import { indexedWorkspace } from '../interpret/interpretFixtures.ts';
import { ReferenceModel } from '../reference/ReferenceForward.ts';

describe('FAC Synthesis through the engine job (forged llama3, trained-shape TopK SAE, toxicity)', () => {
  let home: { path: string; remove(): void };
  let engine: FacetEngine;
  let modelPath: string;
  let report: SynthesisReport;

  beforeAll(async () => {
    const workspace = await indexedWorkspace('facet-synth-');
    workspace.store.close();
    ({ home, modelPath } = workspace);
    engine = new FacetEngine({ home: home.path, shell: 'cli', resumeInterrupted: false });
    const job = await engine.call('synthesis.run', {
      model: modelPath,
      sae: 'test-sae',
      kv: 'f32',
      cpu: true,
      anchor: 'anchor',
      seed: 'seed',
      task: 'toxicity',
      limit: 3,
      candidates: 2,
      contrast: 6,
      maxNewTokens: 80,
      parallel: 6,
      name: 'synthetic-toxicity',
    });
    const final = await engine.jobs.wait(job.id);
    if (final.state !== 'done') throw new Error(`synthesis job ${final.state}: ${JSON.stringify(final.error)}`);
    report = final.result as SynthesisReport;
  }, 600_000);
  afterAll(async () => {
    await engine?.close();
    home?.remove();
  });

  it('targets the missing features, most frequent in the anchor first, and keeps only samples above δ', () => {
    const missing = getCoverageRun(engine.store, report.coverageRunId!).result.results[0]!.missing;
    expect(report.features).toHaveLength(3);
    for (const feature of report.features) expect(missing).toContain(feature);
    expect(report.candidates).toBe(3 * (2 + 6));
    expect(report.accepted.length).toBeGreaterThan(0);
    for (const sample of report.accepted) {
      expect(sample.activation).toBeGreaterThan(0);
      expect(report.features).toContain(sample.feature);
      expect(sample.record).toMatchObject({ feature: sample.feature, activation: sample.activation, threshold: 0, step: 2, rank: 1, layer: 1, encode: 'topk', template: true, kv: 'f32', task: 'toxicity', steering: 0 });
      expect(sample.record.promptHash).toMatch(/^[0-9a-f]{64}$/);
      expect(sample.sample.label).toBe('1');
      expect(sample.record.perplexity).not.toBeNull();
      expect(sample.record.perplexity!).toBeLessThanOrEqual(report.coherence.bound!);
    }
    // at most k = 1 per feature
    expect(new Set(report.accepted.map((sample) => sample.feature)).size).toBe(report.accepted.length);
  });

  it("records each accepted sample's activation exactly as a fresh index of the exported, re-imported text measures it", async () => {
    const out = join(home.path, 'export-toxicity');
    const exported = await engine.call('datasets.export', { id: report.datasetId, out });
    expect(exported).toMatchObject({ format: 'text', samples: report.accepted.length });
    const lines = readFileSync(exported.files.data, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { text: string; label: string });
    expect(lines.map((line) => line.text)).toEqual(report.accepted.map((sample) => sample.text));
    expect(lines.every((line) => line.label === '1')).toBe(true);

    const job = await engine.call('datasets.import', { path: exported.files.data, name: 'reimported', format: 'text' });
    expect((await engine.jobs.wait(job.id)).state).toBe('done');
    const summary = await indexDataset(engine.store, home.path, { dataset: 'reimported', model: modelPath, sae: 'test-sae', kv: 'f32', threads: 1, cpu: true });
    const indexes = new FeatureIndexRepository(engine.store.db);
    report.accepted.forEach((sample, ordinal) => {
      const stored = indexes.sample(summary.indexId, ordinal)!;
      expect(activationOf(decodeSampleFeatures(stored.entries), sample.feature)).toBe(sample.activation);
    });
    // and an independent measurement: capture alone + float64 encode of every row t ≥ t0
    const { config, weights } = await forgeModelAndSae();
    const reference = await referenceSampleActivations(modelPath, { config, weights }, report.accepted.map((sample) => sample.text), 'architecture');
    report.accepted.forEach((sample, i) => {
      const [g] = reference[i]!.g.get(sample.feature) ?? [0];
      expect(Math.abs(g - sample.activation)).toBeLessThan(1e-4 * Math.max(1, g));
    });
  }, 300_000);

  it('stores every candidate with its outcome, scores and reason; rejected ones never enter the dataset', () => {
    const repository = new SynthesisRepository(engine.store.db);
    const candidates = repository.candidates(report.runId);
    expect(candidates).toHaveLength(report.candidates);
    expect(candidates.filter((candidate) => candidate.step === 1).every((candidate) => ['contrast', 'unparseable', 'format'].includes(candidate.outcome))).toBe(true);
    for (const rejected of report.rejected) {
      const row = candidates.find((candidate) => candidate.id === rejected.candidateId)!;
      expect(row.outcome).toBe(rejected.reason);
      expect(row.sampleId).toBeNull();
      expect(rejected.detail).not.toBeNull();
      if (rejected.reason === 'below-threshold') expect(rejected.activation!).toBeLessThanOrEqual(0);
      if (rejected.reason === 'not-kept') {
        const kept = report.accepted.find((sample) => sample.feature === rejected.feature)!;
        expect(rejected.activation!).toBeGreaterThan(0);
        expect(rejected.activation!).toBeLessThanOrEqual(kept.activation);
      }
    }
    const accepted = candidates.filter((candidate) => candidate.outcome === 'accepted');
    expect(accepted.map((candidate) => candidate.sampleId).sort()).toEqual(report.accepted.map((sample) => sample.sampleId).sort());
  });

  it('builds the contrastive pair from step 1 (x⁺ highest, x⁻ lowest), falling back to the top anchor span when fewer than 2 candidates activate', () => {
    const repository = new SynthesisRepository(engine.store.db);
    const indexes = new FeatureIndexRepository(engine.store.db);
    const anchorIndex = getCoverageRun(engine.store, report.coverageRunId!).result.anchor.indexId;
    const candidates = repository.candidates(report.runId);
    const rows = repository.featureRows(report.runId);
    expect(rows.map((row) => row.feature).sort()).toEqual([...report.features].sort());
    // this seed exercises both branches: two features fall back to the anchor span, one does not
    expect(rows.map((row) => row.fallback).sort()).toEqual([false, true, true]);
    for (const row of rows) {
      const contrast = row.contrast as { strong: { activation: number }; weak: { activation: number } | null; step2: { content: string }[]; promptHash: string };
      const step1 = candidates.filter((candidate) => candidate.feature === row.feature && candidate.step === 1 && candidate.activation !== null).map((candidate) => candidate.activation!);
      const activating = step1.filter((g) => g > 0);
      if (activating.length >= 2) {
        expect(row.fallback).toBe(false);
        expect(contrast.strong.activation).toBe(Math.max(...step1));
        expect(contrast.weak!.activation).toBe(Math.min(...step1));
      } else {
        expect(row.fallback).toBe(true);
        const top = Math.max(...indexes.spans(anchorIndex, row.feature).map((span) => span.value));
        expect(contrast.strong.activation).toBe(top);
      }
      expect(contrast.step2[1]!.content).toContain(`strength ${contrast.strong.activation.toFixed(2)}`);
      for (const sample of report.accepted.filter((entry) => entry.feature === row.feature)) {
        expect(sample.record.fallback).toBe(row.fallback);
        expect(sample.record.promptHash).toBe(contrast.promptHash);
      }
    }
  });

  it('forms a synthetic dataset linked to its anchor, seed and coverage run, with provenance per sample', () => {
    const datasets = new DatasetRepository(engine.store.db);
    const dataset = datasets.get(report.datasetId)!;
    expect(dataset).toMatchObject({ name: 'synthetic-toxicity', role: 'synthetic', format: 'text', state: 'ready', sampleCount: report.accepted.length });
    const run = new SynthesisRepository(engine.store.db).run(report.runId)!;
    expect(run.anchorDatasetId).toBe(datasets.findByName('anchor')!.id);
    expect(run.seedDatasetId).toBe(datasets.findByName('seed')!.id);
    expect(run.coverageRunId).toBe(report.coverageRunId);
    expect(run.state).toBe('done');
    const provenance = new SynthesisRepository(engine.store.db).provenance(report.runId);
    expect(provenance.map((entry) => entry.record)).toEqual(report.accepted.map((sample) => sample.record));
    for (const entry of provenance) expect(entry.record.measuringModelHash).toBe(entry.record.generatorHash.replace(/^model:/, ''));
  });

  it('reports FAC of the seed, of seed ∪ synthetic and the share of missing features the synthetic set activates', () => {
    const indexes = new FeatureIndexRepository(engine.store.db);
    const run = getCoverageRun(engine.store, report.coverageRunId!);
    const missing = run.result.results[0]!.missing;
    const synthetic = indexes.totals(indexes.index(report.spaceId, report.datasetId)!.id)!;
    const anchor = indexes.totals(run.result.anchor.indexId)!;
    const seed = indexes.totals(run.result.seed.indexId)!;
    const anchorActive = [...anchor.maxima.keys()].filter((f) => anchor.maxima[f]! > 0);
    const hit = missing.filter((f) => synthetic.maxima[f]! > 0).length;
    const combined = anchorActive.filter((f) => seed.maxima[f]! > 0 || synthetic.maxima[f]! > 0).length;
    expect(report.coverage.map((row) => row.threshold)).toEqual([0, 0.5, 1, 2]);
    expect(report.coverage[0]).toEqual({ threshold: 0, seedFac: run.result.results[0]!.fac, combinedFac: combined / anchorActive.length, missingShareActivated: hit / missing.length, missing: missing.length, missingActivated: hit });
    // δ = 2 independently: activated means g > 2
    const above = (maxima: Float32Array, f: number) => maxima[f]! > 2;
    const anchor2 = anchorActive.filter((f) => above(anchor.maxima, f));
    const missing2 = anchor2.filter((f) => !above(seed.maxima, f));
    expect(report.coverage[3]).toMatchObject({
      seedFac: (anchor2.length - missing2.length) / anchor2.length,
      combinedFac: anchor2.filter((f) => above(seed.maxima, f) || above(synthetic.maxima, f)).length / anchor2.length,
      missing: missing2.length,
      missingActivated: missing2.filter((f) => above(synthetic.maxima, f)).length,
    });
    for (const sample of report.accepted) expect(synthetic.maxima[sample.feature]!).toBeGreaterThan(0);
    expect(report.coverage[0]!.combinedFac!).toBeGreaterThan(report.coverage[0]!.seedFac!);
  });

  it('writes a dataset card with YAML front matter, sizes, FAC before/after and model hashes', () => {
    const card = readFileSync(join(home.path, 'export-toxicity', 'README.md'), 'utf8');
    expect(card.startsWith('---\n')).toBe(true);
    const front = card.split('---\n')[1]!;
    expect(front).toContain('pretty_name: "synthetic-toxicity"');
    expect(front).toContain('path: train.jsonl');
    expect(front).toContain('- text-classification');
    const record = report.accepted[0]!.record;
    expect(card).toContain(record.saeHash);
    expect(card).toContain(record.measuringModelHash);
    expect(card).toContain(`${((report.coverage[0]!.combinedFac ?? 0) * 100).toFixed(2)}%`);
    expect(card).toContain('- anchor: anchor');
  });

  it('bounds coherence from the anchor set with perplexities that match a float64 forward pass', async () => {
    expect(report.coherence.anchorSamples).toBeGreaterThan(0);
    expect(report.coherence.bound!).toBeGreaterThan(report.coherence.anchorMedian!);
    const model = await ProbeModel.load(modelPath, { gpu: false });
    const scorer = await PerplexityScorer.open(model, { threads: 1 });
    const reference = await ReferenceModel.load(modelPath);
    try {
      const rows = new DatasetRepository(engine.store.db).samples(new DatasetRepository(engine.store.db).findByName('anchor')!.id, 0, 2);
      const got = await scorer.perplexities(rows.map((row) => row.turns));
      rows.forEach((row, i) => {
        const { tokens, t0 } = model.prepare({ turns: row.turns });
        const { logits } = reference.forward([...tokens], { logits: true });
        const v = reference.nVocab;
        let nll = 0;
        let count = 0;
        for (let p = Math.max(t0, 1) - 1; p < tokens.length - 1; p++) {
          let max = -Infinity;
          for (let j = 0; j < v; j++) max = Math.max(max, logits![p * v + j]!);
          let sum = 0;
          for (let j = 0; j < v; j++) sum += Math.exp(logits![p * v + j]! - max);
          nll += max + Math.log(sum) - logits![p * v + tokens[p + 1]!]!;
          count++;
        }
        expect(Math.abs(got[i]! / Math.exp(nll / count) - 1)).toBeLessThan(1e-3);
      });
    } finally {
      await scorer.dispose();
      model.dispose();
    }
  }, 120_000);
  it('lists runs without their sample lists, and an edit below δ is refused while a drop renumbers the dataset densely', async () => {
    const [view] = await engine.call('synthesis.runs', {});
    expect(view).toMatchObject({ id: report.runId, state: 'done', dataset: 'synthetic-toxicity', finishedFeatures: 3 });
    expect(view!.report).toMatchObject({ acceptedCount: report.accepted.length, rejectedCount: report.rejected.length, coverage: report.coverage });
    expect(view!.report).not.toHaveProperty('accepted');
    const live = await engine.call('synthesis.candidates', { runId: report.runId, afterId: 0, limit: 5 });
    expect(live).toHaveLength(5);
    expect((await engine.call('synthesis.candidates', { runId: report.runId, afterId: live[4]!.id })).length).toBe(report.candidates - 5);

    const datasets = new DatasetRepository(engine.store.db);
    const first = report.accepted[0]!;
    const before = datasets.samples(report.datasetId, 0, 100);
    expect(() => replaceSyntheticSample(engine.store, first.sampleId, { turns: [{ role: 'user', content: 'edited' }], label: '1' }, 0)).toThrow(/not above δ = 0/);
    expect(datasets.samples(report.datasetId, 0, 100)).toEqual(before);
    const edited = replaceSyntheticSample(engine.store, first.sampleId, { turns: [{ role: 'user', content: 'edited text' }], label: '1' }, 1.25);
    expect(edited).toMatchObject({ activation: 1.25, edited: true, feature: first.feature });
    expect(datasets.samples(report.datasetId, 0, 100).find((row) => row.id === first.sampleId)!.turns[0]!.content).toBe('edited text');
    // the synthetic set's index is stale after an edit: it is dropped, coverage indexes it again
    expect(new FeatureIndexRepository(engine.store.db).index(report.spaceId, report.datasetId)).toBeUndefined();

    await engine.call('synthesis.dropSample', { sampleId: first.sampleId });
    const after = datasets.samples(report.datasetId, 0, 100);
    expect(after.map((row) => row.ordinal)).toEqual(after.map((_, i) => i));
    expect(after.map((row) => row.id)).toEqual(before.filter((row) => row.id !== first.sampleId).map((row) => row.id));
    expect(datasets.get(report.datasetId)!.sampleCount).toBe(report.accepted.length - 1);
    const candidate = new SynthesisRepository(engine.store.db).candidates(report.runId).find((row) => row.outcome === 'removed')!;
    expect(candidate).toMatchObject({ feature: first.feature, detail: 'dropped by a person', sampleId: null });
    expect(new SynthesisRepository(engine.store.db).provenance(report.runId)).toHaveLength(report.accepted.length - 1);
    await expect(engine.call('synthesis.dropSample', { sampleId: first.sampleId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
