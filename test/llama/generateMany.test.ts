import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeModel } from '../../src/core/llama/ProbeModel.ts';
import type { ProbeContext } from '../../src/core/llama/ProbeContext.ts';
import { planPromptSharing } from '../../src/core/llama/planPromptSharing.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';

describe('many prompts decoded together with a shared prefix (llama3, 2 blocks)', () => {
  let model: ProbeModel;
  let context: ProbeContext;
  let single: ProbeContext;
  const system = 'You explain what a feature of a language model responds to. Answer in one short sentence.';
  const questions = ['Spans: the cat sat. The dog ran.', 'Spans: 1 + 2 = 3', 'Spans: Bonjour, ça va ?', 'Spans: SELECT * FROM orders'];
  let prompts: Int32Array[];

  beforeAll(async () => {
    const { path } = await forgeTestModel({ family: 'llama3', layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 11, contextLength: 1024 });
    model = await ProbeModel.load(path, { gpu: false });
    context = await model.createContext({ contextSize: 1024, threads: 1, sequences: 4, kv: 'f32' });
    single = await model.createContext({ contextSize: 512, threads: 1, sequences: 1, kv: 'f32' });
    prompts = questions.map((question) => model.chatPrompt([{ role: 'system', content: system }, { role: 'user', content: question }]));
  });
  afterAll(() => model?.dispose());

  it('the prompts share a long prefix (template and system turn) and differ after it', () => {
    let shared = 0;
    while (prompts.every((prompt) => prompt[shared] === prompts[0]![shared])) shared++;
    expect(shared).toBeGreaterThan(20);
    expect(shared).toBeLessThan(Math.min(...prompts.map((prompt) => prompt.length)));
  });

  it('gives each prompt the greedy continuation it gets alone', async () => {
    const options = { temperature: 0, maxTokens: 10 } as const;
    const together = await context.generateMany(prompts, options);
    expect(together).toHaveLength(prompts.length);
    for (let i = 0; i < prompts.length; i++) {
      const [alone] = await single.generate(prompts[i]!, options);
      expect(Array.from(together[i]!.tokens), `prompt ${i}`).toEqual(Array.from(alone!.tokens));
      expect(together[i]!.tokens.length).toBeGreaterThan(0);
    }
  });

  it('reuses an earlier identical or overlapping prompt, and each still gets its own greedy continuation', async () => {
    const options = { temperature: 0, maxTokens: 8 } as const;
    const mixed = [prompts[0]!, prompts[1]!, prompts[0]!, prompts[1]!];
    const sharing = planPromptSharing(mixed);
    expect(Array.from(sharing.donors)).toEqual([-1, 0, 0, 1]);
    expect(sharing.shared[2]).toBe(prompts[0]!.length - 1);
    expect(sharing.ownTokens).toBe(prompts[0]!.length + (prompts[1]!.length - sharing.shared[1]!) + 1 + 1);
    const together = await context.generateMany(mixed, options);
    for (let i = 0; i < mixed.length; i++) {
      const [alone] = await single.generate(mixed[i]!, options);
      expect(Array.from(together[i]!.tokens), `prompt ${i}`).toEqual(Array.from(alone!.tokens));
    }
  });

  it('samples prompt i with seed + i, so a batch and its parts agree', async () => {
    const options = { temperature: 1, topK: 0, topP: 1, minP: 0, maxTokens: 8, seed: 40 } as const;
    const together = await context.generateMany(prompts.slice(0, 3), options);
    const [third] = await single.generateMany([prompts[2]!], { ...options, seed: 42 });
    expect(Array.from(together[2]!.tokens)).toEqual(Array.from(third!.tokens));
  });

  it('keeps one JSON-schema grammar per sequence', async () => {
    const schema = { type: 'object', properties: { explanation: { type: 'string', maxLength: 40 }, canTell: { type: 'boolean' } } };
    const outputs = await context.generateMany(prompts, { jsonSchema: schema, temperature: 0.7, maxTokens: 60, seed: 3 });
    for (const output of outputs) {
      if (output.finish === 'length') continue;
      const parsed = JSON.parse(output.text) as Record<string, unknown>;
      expect(Object.keys(parsed)).toEqual(['explanation', 'canTell']);
      expect(typeof parsed['canTell']).toBe('boolean');
    }
    expect(outputs.some((output) => output.finish !== 'length')).toBe(true);
  });

  it('refuses more prompts than sequences, and prompts that do not fit the context, before decoding', async () => {
    await expect(context.generateMany([...prompts, prompts[0]!], { maxTokens: 4 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(context.generateMany(prompts, { maxTokens: 300 })).rejects.toMatchObject({ code: 'PROMPT_TOO_LONG' });
    await expect(context.generateMany([new Int32Array(0)], { maxTokens: 4 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const [after] = await context.generateMany([prompts[0]!], { temperature: 0, maxTokens: 3 });
    expect(after!.tokens.length).toBeGreaterThan(0);
  });
});
