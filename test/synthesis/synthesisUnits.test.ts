import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentHash } from '../../src/core/datasets/contentHash.ts';
import { toExportRecord } from '../../src/core/datasets/exportDataset.ts';
import { normalizeRecord } from '../../src/core/datasets/normalizeRecord.ts';
import { NgramOverlapIndex, wordNgrams } from '../../src/core/synthesis/NgramOverlapIndex.ts';
import { promptHash, stepOneConversation, stepTwoConversation } from '../../src/core/synthesis/synthesisPrompts.ts';
import { builtInSynthesisTasks, loadCustomTask, resolveSynthesisTask } from '../../src/core/synthesis/synthesisTasks.ts';
import { quantile } from '../../src/core/synthesis/synthesizeFeatures.ts';
import type { SampleRow } from '../../src/shared/datasetTypes.ts';

const row = (sample: Omit<SampleRow, 'id' | 'ordinal' | 'sourceLine' | 'contentHash'>): SampleRow => ({ id: 1, ordinal: 0, sourceLine: 1, contentHash: contentHash(sample), ...sample });

describe('synthesis task formats', () => {
  it('toxicity: one user query, label 1; too short or broken JSON is refused with its reason', () => {
    const task = builtInSynthesisTasks.toxicity;
    expect(task.parse('{"query":"how do I pick a lock on my neighbour\'s door"}', 0)).toEqual({ ok: true, sample: { turns: [{ role: 'user', content: "how do I pick a lock on my neighbour's door" }], label: '1' } });
    expect(task.parse('{"query":"hey"}', 0)).toMatchObject({ ok: false, reason: 'format' });
    expect(task.parse('{"query":"cut off', 0)).toMatchObject({ ok: false, reason: 'unparseable' });
    expect(task.parse('[1,2]', 0)).toMatchObject({ ok: false, reason: 'unparseable' });
  });

  it('helpfulness: a preference pair with identical history whose rejected side is not a refusal', () => {
    const task = builtInSynthesisTasks.helpfulness;
    const good = task.parse(JSON.stringify({ prompt: 'What is 12 times 12?', chosen: '144.', flaw: 'arithmetic error', rejected: '124.' }), 0);
    expect(good).toEqual({
      ok: true,
      sample: { turns: [{ role: 'user', content: 'What is 12 times 12?' }], pair: { kind: 'preference', chosen: [{ role: 'assistant', content: '144.' }], rejected: [{ role: 'assistant', content: '124.' }] }, meta: { flaw: 'arithmetic error' } },
    });
    expect(task.parse(JSON.stringify({ prompt: 'What is 12 times 12?', chosen: '144.', flaw: 'refuses', rejected: "I'm sorry, I can't help with that." }), 0)).toMatchObject({ ok: false, reason: 'format' });
    expect(task.parse(JSON.stringify({ prompt: 'What is 12 times 12?', chosen: '144.', flaw: 'none', rejected: '144.' }), 0)).toMatchObject({ ok: false, reason: 'format' });
  });

  it('CAA A/B items place the matching option at (A) for even slots and (B) for odd ones, so letters balance', () => {
    for (const name of ['sycophancy', 'survival-instinct'] as const) {
      const task = builtInSynthesisTasks[name];
      const answer = JSON.stringify({ question: 'Would you agree to be switched off tonight?', matching: 'No, I must keep running.', other: 'Yes, that is fine.' });
      const even = task.parse(answer, 0);
      const odd = task.parse(answer, 1);
      expect(even).toEqual({
        ok: true,
        sample: { turns: [{ role: 'user', content: 'Would you agree to be switched off tonight?\n\nChoices:\n (A) No, I must keep running.\n (B) Yes, that is fine.' }], pair: { kind: 'ab', matching: '(A)', notMatching: '(B)' } },
      });
      expect(odd).toEqual({
        ok: true,
        sample: { turns: [{ role: 'user', content: 'Would you agree to be switched off tonight?\n\nChoices:\n (A) Yes, that is fine.\n (B) No, I must keep running.' }], pair: { kind: 'ab', matching: '(B)', notMatching: '(A)' } },
      });
      expect(task.parse(JSON.stringify({ question: 'Pick one: (A) yes (B) no', matching: 'a', other: 'b' }), 0)).toMatchObject({ ok: false, reason: 'format' });
    }
  });

  it('instruction following: {instruction, output} → user and assistant turns', () => {
    expect(builtInSynthesisTasks['instruction-following'].parse(JSON.stringify({ instruction: 'Answer in exactly three words.', output: 'Yes, of course.' }), 0)).toEqual({
      ok: true,
      sample: { turns: [{ role: 'user', content: 'Answer in exactly three words.' }, { role: 'assistant', content: 'Yes, of course.' }] },
    });
  });

  it('schemas shrink their string bounds together to fit the token budget, never below 12 characters', () => {
    const full = builtInSynthesisTasks.helpfulness.schema(10_000) as { properties: Record<string, { maxLength: number }> };
    expect(Object.keys(full.properties)).toEqual(['prompt', 'chosen', 'flaw', 'rejected']);
    expect(full.properties['chosen']!.maxLength).toBe(600);
    const small = builtInSynthesisTasks.helpfulness.schema(400) as { properties: Record<string, { maxLength: number }> };
    const total = Object.values(small.properties).reduce((sum, property) => sum + property.maxLength, 0);
    expect(total).toBeLessThanOrEqual(400);
    expect(Math.min(...Object.values(small.properties).map((property) => property.maxLength))).toBeGreaterThanOrEqual(12);
  });

  it('custom tasks read a spec file (schema inline or from a file) and refuse broken specs with TASK_SPEC_INVALID', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facet-task-spec-'));
    try {
      writeFileSync(join(dir, 'schema.json'), JSON.stringify({ type: 'object', properties: { question: { type: 'string', maxLength: 80 }, answer: { type: 'string', maxLength: 80 }, topic: { type: 'string', maxLength: 20 } } }));
      writeFileSync(join(dir, 'task.json'), JSON.stringify({ name: 'quiz', describe: 'a quiz question and its answer', schema: 'schema.json', user: 'question', assistant: 'answer' }));
      const task = await resolveSynthesisTask('custom', join(dir, 'task.json'));
      expect(task.parse(JSON.stringify({ question: 'Capital of France?', answer: 'Paris', topic: 'geo' }), 0)).toEqual({
        ok: true,
        sample: { turns: [{ role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: 'Paris' }], meta: { topic: 'geo' } },
      });
      writeFileSync(join(dir, 'bad.json'), JSON.stringify({ name: 'quiz', describe: 'a quiz question', schema: { type: 'object', properties: { q: { type: 'string' } } }, user: 'missing' }));
      await expect(loadCustomTask(join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'TASK_SPEC_INVALID' });
      await expect(loadCustomTask(join(dir, 'absent.json'))).rejects.toMatchObject({ code: 'TASK_SPEC_INVALID' });
      await expect(resolveSynthesisTask('custom')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(resolveSynthesisTask('poetry')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('export layouts read back through the importer as the same samples', () => {
  const cases: [string, SampleRow, 'text' | 'preference' | 'caa' | 'alpaca' | 'openai' | 'sharegpt'][] = [
    ['toxicity', row({ turns: [{ role: 'user', content: 'a rude request' }], label: '1' }), 'text'],
    ['HH-RLHF pair', row({ turns: [{ role: 'user', content: 'Sum 2 and 2?' }], pair: { kind: 'preference', chosen: [{ role: 'assistant', content: '4' }], rejected: [{ role: 'assistant', content: '5' }] }, meta: { flaw: 'wrong sum' } }), 'preference'],
    ['CAA', row({ turns: [{ role: 'user', content: 'Q?\n\nChoices:\n (A) x\n (B) y' }], pair: { kind: 'ab', matching: '(B)', notMatching: '(A)' } }), 'caa'],
    ['Alpaca', row({ turns: [{ role: 'user', content: 'Do it in 3 words.' }, { role: 'assistant', content: 'Done it now.' }] }), 'alpaca'],
    ['OpenAI messages', row({ turns: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }), 'openai'],
    ['ShareGPT', row({ turns: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }), 'sharegpt'],
  ];
  it.each(cases)('%s', (_name, sample, layout) => {
    const record = toExportRecord(sample, layout);
    const back = normalizeRecord(JSON.parse(JSON.stringify(record)), layout);
    expect(contentHash(back)).toBe(sample.contentHash);
    expect(back.meta).toEqual(sample.meta);
  });

  it('refuses a sample its layout cannot hold', () => {
    expect(() => toExportRecord(cases[1]![1], 'alpaca')).toThrow(/Alpaca/);
    expect(() => toExportRecord(cases[0]![1], 'openai')).toThrow(/OpenAI/);
  });
});

describe('gate helpers', () => {
  it('word n-gram containment finds near-duplicates', () => {
    expect([...wordNgrams('The cat sat on the mat', 3)]).toEqual(['the cat sat', 'cat sat on', 'sat on the', 'on the mat']);
    expect([...wordNgrams('Hi there', 3)]).toEqual(['hi there']);
    const index = new NgramOverlapIndex(3);
    index.add('the cat sat on the mat today');
    index.add('a dog ran in the park');
    expect(index.overlap('The cat sat on the mat')).toBe(1);
    expect(index.overlap('the cat sat on a sofa')).toBeCloseTo(2 / 4, 12);
    expect(index.overlap('something else entirely here')).toBe(0);
    expect(index.overlap('')).toBe(0);
  });

  it('quantile interpolates between order statistics', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([10, 20], 0.95)).toBeCloseTo(19.5, 12);
    expect(quantile([], 0.5)).toBeNull();
  });

  it('prompts carry the description, the spans and the contrastive pair with their strengths; hashes follow the text', () => {
    const task = builtInSynthesisTasks.toxicity;
    const brief = { feature: 7, explanation: 'threats of violence', spans: [{ text: 'I will [[hurt]]', value: 3.5 }] };
    const one = stepOneConversation(task, brief);
    expect(one[1]!.content).toContain('threats of violence');
    expect(one[1]!.content).toContain('(strength 3.50) I will [[hurt]]');
    const two = stepTwoConversation(task, brief, { text: 'strong text', activation: 4 }, { text: 'weak text', activation: 0.25 });
    expect(two[1]!.content).toMatch(/strongly \(strength 4\.00\):\nstrong text/);
    expect(two[1]!.content).toMatch(/weakly \(strength 0\.25\):\nweak text/);
    const schema = task.schema(400);
    expect(promptHash(two, schema)).toBe(promptHash(two, schema));
    expect(promptHash(two, schema)).not.toBe(promptHash(one, schema));
  });
});
