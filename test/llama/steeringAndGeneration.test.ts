import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeModel } from '../../src/core/llama/ProbeModel.ts';
import type { ProbeContext } from '../../src/core/llama/ProbeContext.ts';
import { SeededRandom } from '../../src/core/forge/SeededRandom.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';

describe('steering and generation (llama3, 3 blocks)', () => {
  let model: ProbeModel;
  let context: ProbeContext;
  let prompt: Int32Array;

  beforeAll(async () => {
    const { path } = await forgeTestModel({ family: 'llama3', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 7, contextLength: 512 });
    model = await ProbeModel.load(path, { gpu: false });
    context = await model.createContext({ contextSize: 512, threads: 1, sequences: 4, kv: 'f32' });
    prompt = model.chatPrompt([{ role: 'user', content: 'Tell me a story about a lighthouse.' }]);
  });
  afterAll(() => model?.dispose());

  function randomVector(seed: number): Float32Array {
    const random = new SeededRandom(seed);
    return random.normalArray(model.info.nEmbd, 1);
  }

  it('builds a generation prompt with one BOS and the assistant header', () => {
    const texts = model.tokenTexts(prompt);
    expect(texts.filter((text) => text === '<|begin_of_text|>')).toHaveLength(1);
    expect(texts.slice(-3)).toEqual(['assistant', '<|end_header_id|>', '\n\n']);
  });

  it('adds scale · vector to l_out-L exactly where it is set', async () => {
    const sample = model.prepare('Steer me, please.').tokens;
    const baseline = await context.capture([sample], { layers: [0, 1, 2] });
    const vector = randomVector(1);
    await context.setSteering({ vector, layers: 1, scale: 2.5 });
    const steered = await context.capture([sample], { layers: [0, 1] });
    await context.clearSteering();
    const nEmbd = model.info.nEmbd;
    // block 0 is before the vector: unchanged
    expect(Array.from(steered.activations.get(0)!)).toEqual(Array.from(baseline.activations.get(0)!));
    const before = baseline.activations.get(1)!;
    const after = steered.activations.get(1)!;
    let worst = 0;
    for (let i = 0; i < after.length; i++) {
      const expected = before[i]! + 2.5 * vector[i % nEmbd]!;
      worst = Math.max(worst, Math.abs(after[i]! - expected) / Math.max(1, Math.abs(expected)));
    }
    expect(worst).toBeLessThan(1e-5);
    const cleared = await context.capture([sample], { layers: [2] });
    expect(Array.from(cleared.activations.get(2)!)).toEqual(Array.from(baseline.activations.get(2)!));
  });

  it('changes greedy generation, and clearing restores the baseline token ids exactly', async () => {
    const options = { temperature: 0, maxTokens: 12 } as const;
    const [baseline] = await context.generate(prompt, options);
    await context.setSteering({ vector: randomVector(2), layers: [1, 2], scale: 6 });
    const [steered] = await context.generate(prompt, options);
    await context.clearSteering();
    const [restored] = await context.generate(prompt, options);
    expect(baseline!.tokens.length).toBeGreaterThan(0);
    expect(Array.from(steered!.tokens)).not.toEqual(Array.from(baseline!.tokens));
    expect(Array.from(restored!.tokens)).toEqual(Array.from(baseline!.tokens));
  });

  it('refuses block 0 and blocks past the last', async () => {
    await expect(context.setSteering({ vector: randomVector(3), layers: 0 })).rejects.toMatchObject({ code: 'LAYER_OUT_OF_RANGE' });
    await expect(context.setSteering({ vector: randomVector(3), layers: [1, 3] })).rejects.toMatchObject({ code: 'LAYER_OUT_OF_RANGE' });
    await expect(context.setSteering({ vector: new Float32Array(5), layers: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('samples n candidates in parallel, reproducibly per seed', async () => {
    const options = { n: 3, temperature: 1, topK: 0, topP: 1, minP: 0, maxTokens: 10, seed: 11 } as const;
    const reports: number[] = [];
    const first = await context.generate(prompt, { ...options, onProgress: (done, total) => reports.push(done / total) });
    expect(reports[0]).toBe(0);
    expect(reports.at(-1)).toBe(first.reduce((sum, c) => sum + c.tokens.length, 0) / 30);
    const again = await context.generate(prompt, options);
    expect(first).toHaveLength(3);
    expect(first.map((c) => Array.from(c.tokens))).toEqual(again.map((c) => Array.from(c.tokens)));
    const distinct = new Set(first.map((c) => Array.from(c.tokens).join(',')));
    expect(distinct.size).toBeGreaterThan(1);
    // candidate i uses seed + i: the second candidate of seed 11 is the first of seed 12
    const [shifted] = await context.generate(prompt, { ...options, n: 1, seed: 12 });
    expect(Array.from(shifted!.tokens)).toEqual(Array.from(first[1]!.tokens));
  });

  it('wires top-k, top-p and min-p into the sampler chain', async () => {
    const [greedy] = await context.generate(prompt, { temperature: 0, maxTokens: 12 });
    const hot = { temperature: 5, maxTokens: 12, seed: 9 } as const;
    const [free] = await context.generate(prompt, { ...hot, topK: 0, topP: 1, minP: 0 });
    expect(Array.from(free!.tokens)).not.toEqual(Array.from(greedy!.tokens));
    for (const narrow of [{ topK: 1, topP: 1, minP: 0 }, { topK: 0, topP: 1e-6, minP: 0 }, { topK: 0, topP: 1, minP: 1 }]) {
      const [sampled] = await context.generate(prompt, { ...hot, ...narrow });
      expect(Array.from(sampled!.tokens), JSON.stringify(narrow)).toEqual(Array.from(greedy!.tokens));
    }
  });

  it('applies the repeat penalty', async () => {
    const [plain] = await context.generate(prompt, { temperature: 0, maxTokens: 40 });
    const [penalized] = await context.generate(prompt, { temperature: 0, maxTokens: 40, repeatPenalty: 100 });
    const repeats = (tokens: Int32Array): number => tokens.length - new Set(tokens).size;
    expect(repeats(plain!.tokens)).toBeGreaterThan(0); // greedy decoding of random weights loops
    expect(repeats(penalized!.tokens)).toBe(0);
  });

  it('stops at a stop string and cuts it from the text', async () => {
    const [baseline] = await context.generate(prompt, { temperature: 0, maxTokens: 12 });
    const pieces = model.tokenTexts(baseline!.tokens);
    const stop = pieces.slice(4, 6).join('');
    const [stopped] = await context.generate(prompt, { temperature: 0, maxTokens: 12, stop: [stop] });
    expect(stopped!.finish).toBe('stop');
    expect(stopped!.text).toBe(baseline!.text.slice(0, baseline!.text.indexOf(stop)));
  });

  it('follows a GBNF grammar and a JSON schema', async () => {
    const answers = await context.generate(prompt, { n: 3, temperature: 1, seed: 5, maxTokens: 8, grammar: 'root ::= ("yes" | "no") "!"' });
    for (const answer of answers) expect(['yes!', 'no!']).toContain(answer.text);
    const [json] = await context.generate(prompt, {
      temperature: 0.7, seed: 3, maxTokens: 40,
      jsonSchema: { type: 'object', properties: { answer: { enum: ['red', 'green', 'blue'] }, count: { enum: [1, 2, 3] } }, required: ['answer', 'count'] },
    });
    const parsed = JSON.parse(json!.text) as { answer: string; count: number };
    expect(['red', 'green', 'blue']).toContain(parsed.answer);
    expect([1, 2, 3]).toContain(parsed.count);
    await expect(context.generate(prompt, { grammar: 'root ::= ( "unterminated' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('cancels with an AbortSignal and keeps working afterwards', async () => {
    const controller = new AbortController();
    const running = context.generate(prompt, { temperature: 1, maxTokens: 400, signal: controller.signal });
    setTimeout(() => controller.abort(), 5);
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
    const [after] = await context.generate(prompt, { temperature: 0, maxTokens: 4 });
    expect(after!.tokens.length).toBeGreaterThan(0);
  });
});
