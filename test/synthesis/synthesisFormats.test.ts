import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/core/datasets/contentHash.ts';
import { DatasetRepository } from '../../src/core/datasets/DatasetRepository.ts';
import { exportDataset } from '../../src/core/datasets/exportDataset.ts';
import { normalizeRecord } from '../../src/core/datasets/normalizeRecord.ts';
import { readGgufHeader, readTensorAsFloat32 } from '../../src/core/gguf/GgufReader.ts';
import { writeGguf } from '../../src/core/gguf/GgufWriter.ts';
import { getCoverageRun } from '../../src/core/coverage/measureCoverage.ts';
import { LocalChatGenerator } from '../../src/core/generation/LocalChatGenerator.ts';
import { InterpretationRepository } from '../../src/core/interpret/InterpretationRepository.ts';
import { SaeRegistry } from '../../src/core/sae/SaeRegistry.ts';
import { steeringDirection } from '../../src/core/synthesis/steeringDirection.ts';
import { synthesizeFeatures, type SynthesisRequest } from '../../src/core/synthesis/synthesizeFeatures.ts';
import type { Store } from '../../src/core/store/Store.ts';
import type { DatasetFormat } from '../../src/shared/datasetTypes.ts';
import { insertDataset } from '../features/featureFixtures.ts';
import { indexedWorkspace } from '../interpret/interpretFixtures.ts';

describe('FAC Synthesis: every task format, steering and bad input (forged llama3, TopK SAE)', () => {
  let home: { path: string; remove(): void };
  let store: Store;
  let modelPath: string;
  const base = (): SynthesisRequest => ({
    model: modelPath,
    sae: 'test-sae',
    kv: 'f32',
    anchor: 'anchor',
    seed: 'seed',
    task: 'toxicity',
    limit: 1,
    candidates: 2,
    contrast: 6,
    maxNewTokens: 48,
    threads: 1,
    cpu: true,
    coherenceSamples: 4,
    generator: { parallel: 8, cpu: true, threads: 1 },
  });
  const counts = () => ({
    datasets: (store.db.prepare('SELECT COUNT(*) AS n FROM datasets').get() as { n: number }).n,
    runs: (store.db.prepare('SELECT COUNT(*) AS n FROM synthesis_runs').get() as { n: number }).n,
    samples: (store.db.prepare('SELECT COUNT(*) AS n FROM samples').get() as { n: number }).n,
  });

  beforeAll(async () => {
    ({ home, store, modelPath } = await indexedWorkspace('facet-synth-formats-'));
  }, 300_000);
  afterAll(() => {
    store?.close();
    home?.remove();
  });

  const formats: [string, DatasetFormat, number][] = [
    ['helpfulness', 'preference', 1],
    ['sycophancy', 'caa', 2],
    ['survival-instinct', 'caa', 1],
    ['instruction-following', 'alpaca', 1],
  ];
  it.each(formats)('%s: samples in the task format, each above δ, exported and read back in its layout', async (task, layout, limit) => {
    const report = await synthesizeFeatures(store, home.path, { ...base(), task, limit, maxNewTokens: task === 'helpfulness' ? 96 : 64 });
    expect(report.task).toBe(task);
    expect(report.accepted.length).toBeGreaterThan(0);
    for (const sample of report.accepted) {
      expect(sample.activation).toBeGreaterThan(0);
      if (layout === 'preference') expect(sample.sample.pair?.kind).toBe('preference');
      if (layout === 'caa') {
        // the matching letter alternates with the feature's slot, so A and B balance over features
        expect(sample.sample.pair).toEqual(report.features.indexOf(sample.feature) % 2 === 0 ? { kind: 'ab', matching: '(A)', notMatching: '(B)' } : { kind: 'ab', matching: '(B)', notMatching: '(A)' });
        expect(sample.text).toMatch(/\n\nChoices:\n \(A\) .+\n \(B\) .+$/s);
      }
      if (layout === 'alpaca') expect(sample.sample.turns.map((turn) => turn.role)).toEqual(['user', 'assistant']);
    }
    const out = join(home.path, `export-${task}`);
    const exported = await exportDataset(store, { dataset: report.dataset, out });
    expect(exported.format).toBe(layout);
    const back = readFileSync(exported.files.data, 'utf8').trim().split('\n').map((line) => normalizeRecord(JSON.parse(line), layout));
    expect(back.map(contentHash)).toEqual(new DatasetRepository(store.db).samples(report.datasetId, 0, 100).map((row) => row.contentHash));
    expect(readFileSync(exported.files.card, 'utf8')).toContain(`**${task}**`);
  }, 300_000);

  it('custom: a prompt template and schema from files; the generator is held to the schema', async () => {
    const spec = join(home.path, 'quiz.json');
    writeFileSync(spec, JSON.stringify({ name: 'quiz', describe: 'a short quiz question with its answer', schema: { type: 'object', properties: { question: { type: 'string', minLength: 1, maxLength: 40 }, answer: { type: 'string', minLength: 1, maxLength: 30 } }, required: ['question', 'answer'], additionalProperties: false }, user: 'question', assistant: 'answer' }));
    const report = await synthesizeFeatures(store, home.path, { ...base(), task: 'custom', taskSpec: spec });
    expect(report.rejected.filter((candidate) => candidate.reason === 'unparseable')).toEqual([]);
    for (const sample of report.accepted) {
      expect(sample.sample.turns[0]!.content.length).toBeLessThanOrEqual(40);
      expect(sample.sample.turns[1]!.role).toBe('assistant');
    }
    expect(new DatasetRepository(store.db).get(report.datasetId)!.format).toBe('openai');
  }, 300_000);

  it('steering adds the decoder row of the target at the SAE layer, is recorded, and is reported beside the unsteered run', async () => {
    const { config, weights } = await new SaeRegistry(store, home.path).load('test-sae');
    const direction = steeringDirection(config, weights, 5, 2);
    for (let i = 0; i < config.dIn; i++) expect(direction[i]).toBeCloseTo(weights.wEnc[i * config.dSae + 5]! * 2, 6);
    const report = await synthesizeFeatures(store, home.path, { ...base(), steer: [6], contrast: 3, name: 'steered' });
    expect(report.steering.map((row) => [row.strength, row.candidates])).toEqual([
      [0, 3],
      [6, 3],
    ]);
    for (const sample of report.accepted) expect([0, 6]).toContain(sample.record.steering);
    // the same seed and conversation give other text once the direction is added
    const generator = await LocalChatGenerator.open(modelPath, { name: 'forged', hash: 'h', parallel: 1, threads: 1, gpu: false });
    try {
      const conversation = [{ role: 'user' as const, content: 'Write something.' }];
      const [plain] = await generator.complete([conversation], { maxTokens: 24, seed: 3, temperature: 0.8 });
      await generator.setSteering({ vector: steeringDirection(config, weights, report.features[0]!, 50), layers: 1, scale: 1 });
      const [steered] = await generator.complete([conversation], { maxTokens: 24, seed: 3, temperature: 0.8 });
      await generator.setSteering(null);
      const [again] = await generator.complete([conversation], { maxTokens: 24, seed: 3, temperature: 0.8 });
      expect(steered!.text).not.toBe(plain!.text);
      expect(again!.text).toBe(plain!.text);
    } finally {
      await generator.dispose();
    }
  }, 300_000);

  it('--relevant keeps only the missing features judged relevant to the task, and FAC after is measured within them', async () => {
    const missing = (await synthesizeFeatures(store, home.path, { ...base(), limit: 1, contrast: 1, name: 'probe-missing' })).features;
    const repository = new InterpretationRepository(store.db);
    const spaceId = (store.db.prepare('SELECT id FROM feature_spaces').get() as { id: number }).id;
    const verdict = (feature: number, value: 'Yes' | 'No') =>
      repository.insertVerdict({ spaceId, feature, judge: 'test', judgeLabel: 'test', promptVersion: 1, task: 'toxicity', rubricHash: 'r', verdict: value, analysis: 'a', explanation: null, examples: [] });
    const judged = [...missing, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
    judged.forEach((feature, i) => verdict(feature, i % 2 === 0 ? 'No' : 'Yes'));
    const relevant = new Set(judged.filter((_, i) => i % 2 === 1));
    const report = await synthesizeFeatures(store, home.path, { ...base(), relevantOnly: true, limit: 2, contrast: 2, name: 'relevant-only' });
    expect(report.features.length).toBeGreaterThan(0);
    for (const feature of report.features) expect(relevant.has(feature)).toBe(true);
    expect(report.features).not.toContain(missing[0]);
    const run = getCoverageRun(store, report.coverageRunId!);
    expect(run.result.relevantFeatures).toBeGreaterThan(0);
    expect(report.coverage[0]!.missing).toBe(run.result.results[0]!.missing.length);
    expect(report.coverage[0]!.seedFac).toBe(run.result.results[0]!.fac);
  }, 300_000);

  it('a cancelled run leaves the database as it was (no dataset, run, candidates or samples)', async () => {
    const before = counts();
    const candidates = (store.db.prepare('SELECT COUNT(*) AS n FROM synthesis_candidates').get() as { n: number }).n;
    const controller = new AbortController();
    const run = synthesizeFeatures(store, home.path, { ...base(), limit: 3, contrast: 2, name: 'cancelled' }, { signal: controller.signal, onProgress: (done) => done >= 1 && controller.abort() });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(counts()).toEqual(before);
    expect((store.db.prepare('SELECT COUNT(*) AS n FROM synthesis_candidates').get() as { n: number }).n).toBe(candidates);
  }, 300_000);

  it('an empty missing set is a coded error and leaves no dataset or run behind', async () => {
    insertDataset(store, 'anchor-copy', 'seed', new DatasetRepository(store.db).samples(new DatasetRepository(store.db).findByName('anchor')!.id, 0, 100).map((row) => row.turns[0]!.content));
    const before = counts();
    await expect(synthesizeFeatures(store, home.path, { ...base(), seed: 'anchor-copy' })).rejects.toMatchObject({ code: 'NO_MISSING_FEATURES' });
    expect(counts()).toEqual(before);
  }, 300_000);

  it('a custom schema llama.cpp cannot compile is SCHEMA_UNSUPPORTED, and the database is as it was', async () => {
    const spec = join(home.path, 'broken.json');
    writeFileSync(spec, JSON.stringify({ name: 'broken', describe: 'a question that cannot be written', schema: { type: 'object', properties: { question: { type: 'string' }, fixed: { const: { nested: [1] } } } }, user: 'question' }));
    const before = counts();
    await expect(synthesizeFeatures(store, home.path, { ...base(), task: 'custom', taskSpec: spec, features: [1, 2] })).rejects.toMatchObject({ code: 'SCHEMA_UNSUPPORTED' });
    expect(counts()).toEqual(before);
  }, 300_000);

  it('a generator without a chat template is NOT_A_CHAT_MODEL, and the database is as it was', async () => {
    const header = await readGgufHeader(modelPath);
    const metadata = new Map(header.metadata);
    metadata.delete('tokenizer.chat_template');
    const plain = join(home.path, 'no-template.gguf');
    const tensors = await Promise.all(header.tensors.map(async (tensor) => ({ name: tensor.name, dims: tensor.dims, type: 'F32' as const, data: await readTensorAsFloat32(header, tensor.name) })));
    await writeGguf(plain, { metadata, tensors });
    const before = counts();
    await expect(synthesizeFeatures(store, home.path, { ...base(), features: [1], generator: { model: plain, cpu: true, threads: 1 } })).rejects.toMatchObject({ code: 'NOT_A_CHAT_MODEL' });
    expect(counts()).toEqual(before);
  }, 300_000);
});
