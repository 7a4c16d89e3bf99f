import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFeatureSpans } from '../../src/core/features/FeatureQueries.ts';
import { FeatureIndexRepository } from '../../src/core/features/FeatureIndexRepository.ts';
import { balancedAccuracy, explainFeatures } from '../../src/core/interpret/explainFeatures.ts';
import { requireIndexedSpace } from '../../src/core/interpret/requireIndexedSpace.ts';
import { FeatureExampleSource, readableText } from '../../src/core/interpret/FeatureExampleSource.ts';
import { InterpretationRepository } from '../../src/core/interpret/InterpretationRepository.ts';
import { judgeFeatures } from '../../src/core/interpret/judgeFeatures.ts';
import { relevantFeaturesOf } from '../../src/core/interpret/relevantFeaturesOf.ts';
import { selectFeatures } from '../../src/core/interpret/selectFeatures.ts';
import { builtInRubric, loadTaskRubric } from '../../src/core/interpret/taskRubrics.ts';
import { ProbeModel } from '../../src/core/llama/ProbeModel.ts';
import type { Store } from '../../src/core/store/Store.ts';
import { relevanceVerdicts } from '../../src/shared/interpretationTypes.ts';
import { indexedWorkspace } from './interpretFixtures.ts';

describe('feature explanations and task relevance with a local model (forged llama3, TopK SAE)', () => {
  let home: { path: string; remove(): void };
  let store: Store;
  let modelPath: string;
  const request = () => ({ model: modelPath, sae: 'test-sae', kv: 'f32' as const, explainer: { parallel: 6, cpu: true, threads: 1 } });

  beforeAll(async () => {
    ({ home, store, modelPath } = await indexedWorkspace('facet-explain-'));
  }, 120_000);
  afterAll(() => {
    store?.close();
    home?.remove();
  });

  it('scores detection by balanced accuracy (hand-computed)', () => {
    // 3 active (2 said yes), 2 inactive (1 said no): (2/3 + 1/2) / 2
    expect(balancedAccuracy([true, true, false, true, false], [true, true, true, false, false])).toBeCloseTo((2 / 3 + 1 / 2) / 2, 12);
    expect(balancedAccuracy([true, false], [true, true])).toBeNull();
  });

  it('builds excerpts from the index: the top ones are the stored spans, made readable, strongest first', async () => {
    const { space } = await requireIndexedSpace(store, home.path, request());
    const [feature] = selectFeatures(store, space, 'anchor');
    const model = await ProbeModel.load(modelPath, { gpu: false });
    try {
      const examples = new FeatureExampleSource(store, space, model).examples(feature!, { top: 10, range: 5, heldOut: 5, inactive: 5 });
      const stored = getFeatureSpans(store, space.id, feature!, 10);
      const top = examples.explain.slice(0, Math.min(10, stored.length));
      expect(top.map((example) => [example.ordinal, example.value])).toEqual(stored.slice(0, top.length).map((span) => [span.ordinal, span.value]));
      top.forEach((example, i) => {
        expect(example.peak).toBe(readableText(stored[i]!.peakText));
        expect(example.prefix).toBe(readableText(stored[i]!.prefixText).trimStart());
        expect(example.prefix + example.peak).not.toMatch(/<\|/);
      });
      for (let i = 1; i < top.length; i++) expect(top[i]!.value).toBeLessThanOrEqual(top[i - 1]!.value);
      const shown = new Set([...examples.explain, ...examples.heldOut].map((example) => example.ordinal));
      expect(shown.size).toBe(examples.explain.length + examples.heldOut.length);
      for (const inactive of examples.inactive) expect(inactive.value).toBe(0);
    } finally {
      model.dispose();
    }
  });

  it('explains the most frequent anchor features, each with a score, a verification and its excerpts stored', async () => {
    const report = await explainFeatures(store, home.path, { ...request(), limit: 4, candidates: 2 });
    const { space } = await requireIndexedSpace(store, home.path, request());
    expect(report.explained.map((row) => row.feature)).toEqual(selectFeatures(store, space, 'anchor').slice(0, 4));
    expect(report.skipped).toBe(0);
    expect(report.notice).toBeNull();
    const rows = store.db.prepare('SELECT feature, explanation, can_tell, score, verification, candidates, examples FROM feature_explanations ORDER BY feature').all() as { explanation: string; can_tell: number; score: number | null; verification: string | null; candidates: string; examples: string }[];
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      const candidates = JSON.parse(row.candidates) as { canTell: boolean; score: number | null }[];
      expect(candidates).toHaveLength(2);
      if (row.can_tell === 1) {
        expect(row.explanation.length).toBeGreaterThan(0);
        expect(row.verification === null || (relevanceVerdicts as readonly string[]).includes(row.verification)).toBe(true);
        // the kept one is the best-scoring candidate that could tell
        const best = Math.max(...candidates.filter((c) => c.canTell).map((c) => c.score ?? -1));
        expect(row.score ?? -1).toBe(best);
      } else {
        expect(row.explanation).toBe('');
      }
      if (row.score !== null) expect(row.score).toBeGreaterThanOrEqual(0);
      const examples = JSON.parse(row.examples) as { explain: unknown[] };
      expect(examples.explain.length).toBeGreaterThan(0);
    }
  }, 300_000);

  it('a second run skips what is stored and returns the same explanations', async () => {
    const before = store.db.prepare('SELECT count(*) AS n FROM feature_explanations').get();
    const again = await explainFeatures(store, home.path, { ...request(), limit: 4, candidates: 2 });
    expect(again.skipped).toBe(4);
    expect(store.db.prepare('SELECT count(*) AS n FROM feature_explanations').get()).toEqual(before);
    const stored = new InterpretationRepository(store.db).bestExplanations(again.spaceId);
    for (const row of again.explained) expect(row.explanation).toBe(stored.get(row.feature)!.explanation);
  }, 120_000);

  it('judges task relevance on the four-level scale; relevant = Yes, Probably or Maybe', async () => {
    const report = await judgeFeatures(store, home.path, { ...request(), judge: { parallel: 6, cpu: true, threads: 1 }, rubric: builtInRubric('toxicity'), limit: 5 });
    expect(report.task).toBe('toxicity');
    expect(report.verdicts.length + (report.unanswered?.length ?? 0)).toBe(5);
    for (const verdict of report.verdicts) expect(relevanceVerdicts).toContain(verdict.verdict);
    const { space } = await requireIndexedSpace(store, home.path, request());
    const anchorActive = selectFeatures(store, space, 'anchor');
    const { relevant, unjudged } = relevantFeaturesOf(store, space.id, 'toxicity', anchorActive);
    expect(relevant).toEqual(report.verdicts.filter((v) => v.verdict !== 'No').map((v) => v.feature).sort((a, b) => a - b));
    expect(unjudged).toBe(anchorActive.length - report.verdicts.length);
    expect(() => relevantFeaturesOf(store, space.id, 'sycophancy', anchorActive)).toThrow(/features judge --task sycophancy/);
    // a second run judges nothing again
    const again = await judgeFeatures(store, home.path, { ...request(), judge: { parallel: 6, cpu: true, threads: 1 }, rubric: builtInRubric('toxicity'), limit: 5 });
    expect(again.skipped).toBe(report.verdicts.length);
  }, 300_000);

  it('searches explanations by their words (FTS5), within a space and across spaces', async () => {
    const repository = new InterpretationRepository(store.db);
    const { space } = await requireIndexedSpace(store, home.path, request());
    // a known explanation from another writer, so the search does not depend on what a gibberish model wrote
    repository.insertExplanation({ spaceId: space.id, feature: 7, explainer: 'test:fixed', explainerLabel: 'fixed', promptVersion: 1, explanation: 'Lighthouse keepers and harbour beacons', canTell: true, score: 0.9, verification: 'Yes', candidates: [], examples: {} });
    expect(repository.search(space.id, 'harbour lighthouse', 10).map((row) => row.feature)).toContain(7);
    expect(repository.search(undefined, 'BEACONS', 10).map((row) => [row.spaceId, row.feature])).toContainEqual([space.id, 7]);
    expect(repository.search(space.id, 'submarine', 10).map((row) => row.feature)).not.toContain(7);
    expect(repository.search(space.id, '!!!', 10)).toEqual([]);
  });

  it('reads rubric files and refuses ones that do not parse, naming the file', async () => {
    const json = join(home.path, 'legal.json');
    writeFileSync(json, JSON.stringify({ task: 'legal-advice', rubric: 'Features about laws, courts, contracts and legal advice are relevant.' }));
    expect(await loadTaskRubric(json)).toMatchObject({ task: 'legal-advice' });
    const broken = join(home.path, 'broken.json');
    writeFileSync(broken, '{"task": ');
    await expect(loadTaskRubric(broken)).rejects.toMatchObject({ code: 'RUBRIC_INVALID', message: expect.stringContaining(broken) });
    const text = join(home.path, 'poetry.txt');
    writeFileSync(text, 'Features about rhyme, metre and poetic imagery are relevant.');
    expect(await loadTaskRubric(text)).toMatchObject({ task: 'poetry' });
    await expect(loadTaskRubric(join(home.path, 'nothing.txt'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(builtInRubric('toxicity').hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the feature index has what the explainer used', () => {
    expect(new FeatureIndexRepository(store.db).listSpaces()).toHaveLength(1);
  });
});
