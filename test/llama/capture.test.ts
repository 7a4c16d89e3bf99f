import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ForgeFamily } from '../../src/core/forge/ForgeFamily.ts';
import { ProbeModel } from '../../src/core/llama/ProbeModel.ts';
import { poolActivations } from '../../src/core/llama/poolActivations.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { bundledChatTemplate } from './bundledChatTemplate.ts';
import { referenceResiduals, relativeL2 } from '../reference/ReferenceForward.ts';

const prompts = [
  'The quick brown fox jumps over the lazy dog.',
  'Hi',
  'Explain, in two sentences, why the sky looks blue at noon and red at sunset.',
  'List three prime numbers: 2, 3, 5 — and one more?',
];

function rows(data: Float32Array, nEmbd: number, offset: number, length: number): Float32Array {
  return data.subarray(offset * nEmbd, (offset + length) * nEmbd);
}

describe.each<ForgeFamily>(['llama3', 'mistral', 'qwen2'])('capture of l_out-<L> for %s', (family) => {
  let model: ProbeModel;
  let path: string;

  beforeAll(async () => {
    path = (await forgeTestModel({ family, layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 7, contextLength: 512 })).path;
    model = await ProbeModel.load(path, { gpu: false });
  });
  afterAll(() => model?.dispose());

  it('matches the float64 reference at every layer with an F32 KV cache, across micro-batches and sequences', async () => {
    const samples = prompts.map((prompt) => model.prepare(prompt));
    // 8-token micro-batches and 3 sequences: samples are split across decodes and packed together
    const context = await model.createContext({ contextSize: 256, batchSize: 8, sequences: 3, threads: 1, kv: 'f32' });
    try {
      const tokens = samples.map((sample) => sample.tokens);
      const result = await context.capture(tokens, { layers: [0, 1, 2] });
      const early = await context.capture(tokens, { layers: [1] });
      // capturing the last block runs whole graphs; otherwise every decode stops after block 1,
      // also those ending inside a sample (its KV rows for blocks <= 1 stay valid: checked above)
      expect(result.earlyStoppedDecodes).toBe(0);
      expect(early.decodes).toBeGreaterThan(samples.length);
      expect(early.earlyStoppedDecodes).toBe(early.decodes);
      // many small chunks: the next chunk decodes while the previous one is handed over
      const seen: number[] = [];
      await context.captureChunks(tokens, { layers: [1], chunkTokens: 20 }, async (chunk) => {
        seen.push(chunk.firstSample);
        await new Promise((resolve) => setTimeout(resolve, 5));
        let row = 0;
        chunk.lengths.forEach((length, i) => {
          const s = chunk.firstSample + i;
          const got = chunk.activations.get(1)!.subarray(row * 64, (row + length) * 64);
          expect(relativeL2(got, rows(early.activations.get(1)!, 64, early.offsets[s]!, early.lengths[s]!))).toBeLessThanOrEqual(1e-5);
          row += length;
        });
      });
      expect(seen.length).toBeGreaterThan(2);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      const packed = await model.createContext({ contextSize: 256, batchSize: 128, sequences: 4, threads: 1, kv: 'f32' });
      const whole = await packed.capture(tokens, { layers: [1] });
      packed.dispose();
      expect(whole.earlyStoppedDecodes).toBe(whole.decodes);
      // other packing, other float summation order: equal up to float32 rounding
      expect(relativeL2(whole.activations.get(1)!, early.activations.get(1)!)).toBeLessThanOrEqual(1e-5);
      for (let s = 0; s < samples.length; s++) {
        const reference = await referenceResiduals(path, Array.from(tokens[s]!), [0, 1, 2]);
        for (const layer of [0, 1, 2]) {
          const got = rows(result.activations.get(layer)!, result.nEmbd, result.offsets[s]!, result.lengths[s]!);
          expect(relativeL2(got, reference.get(layer)!), `sample ${s} layer ${layer}`).toBeLessThanOrEqual(1e-5);
        }
        const gotEarly = rows(early.activations.get(1)!, early.nEmbd, early.offsets[s]!, early.lengths[s]!);
        expect(relativeL2(gotEarly, reference.get(1)!)).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      context.dispose();
    }
  });

  it('matches the reference within 2e-3 with the default F16 KV cache', async () => {
    const samples = prompts.map((prompt) => model.prepare(prompt).tokens);
    const context = await model.createContext({ contextSize: 512, threads: 1, sequences: 4 });
    try {
      const result = await context.capture(samples, { layers: [0, 1, 2] });
      for (let s = 0; s < samples.length; s++) {
        const reference = await referenceResiduals(path, Array.from(samples[s]!), [0, 1, 2]);
        for (const layer of [0, 1, 2]) {
          const got = rows(result.activations.get(layer)!, result.nEmbd, result.offsets[s]!, result.lengths[s]!);
          expect(relativeL2(got, reference.get(layer)!)).toBeLessThanOrEqual(2e-3);
        }
      }
    } finally {
      context.dispose();
    }
  });

  it('reports t0 after the template prefix and pools only positions ≥ t0', () => {
    const withTemplate = model.prepare('Hello there, friend');
    const texts = model.tokenTexts(withTemplate.tokens);
    const content = texts.slice(withTemplate.t0).join('');
    expect(content.trimStart().startsWith('Hello')).toBe(true);
    expect(texts.slice(0, withTemplate.t0).join('')).not.toContain('Hello');
    expect(withTemplate.t0).toBeGreaterThan(1);

    // content that also appears in the template header, and a system turn before it
    const tricky = model.prepare({ turns: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'user' }] });
    const trickyTexts = model.tokenTexts(tricky.tokens);
    expect(trickyTexts.slice(0, tricky.t0).join('')).toContain('Be brief.');
    expect(trickyTexts.slice(tricky.t0).join('').trimStart().startsWith('user')).toBe(true);

    const raw = model.prepare('Hello there, friend', { template: false });
    expect(raw.t0).toBe(model.info.addBos ? 1 : 0);

    const nEmbd = 2;
    const data = Float32Array.from([100, -100, 1, 5, 3, -1]);
    expect(Array.from(poolActivations(data, nEmbd, 1, 'max'))).toEqual([3, 5]);
    expect(Array.from(poolActivations(data, nEmbd, 1, 'mean'))).toEqual([2, 2]);
    expect(Array.from(poolActivations(data, nEmbd, 1, 'last'))).toEqual([3, -1]);
  });
});

describe('chat templates rendered as Jinja', () => {
  it('counts a real template\'s default system prompt in the prefix (Llama-3.1: t0 = 30, BOS included)', async () => {
    const { path } = await forgeTestModel({ family: 'llama3', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 7, contextLength: 512 });
    const template = await bundledChatTemplate('meta-llama-Llama-3.1-8B-Instruct');
    const model = await ProbeModel.load(path, { gpu: false, chatTemplate: template });
    try {
      const sample = model.prepare('Hello there, how are you?');
      const texts = model.tokenTexts(sample.tokens);
      expect(texts[0]).toBe('<|begin_of_text|>');
      expect(texts.filter((text) => text === '<|begin_of_text|>')).toHaveLength(1);
      expect(texts.slice(0, sample.t0).join('')).toContain('Cutting Knowledge Date: December 2023');
      expect(texts.slice(sample.t0 - 3, sample.t0 + 1)).toEqual(['user', '<|end_header_id|>', '\n\n', 'Hello']);
      // the paper's released code fixes t0 = 31 for this template; measured from the template it is 30
      expect(sample.t0).toBe(30);
    } finally {
      model.dispose();
    }
  });

  it('uses the forged Qwen2 template\'s default system turn, which llama.cpp\'s built-in ChatML leaves out', async () => {
    const { path } = await forgeTestModel({ family: 'qwen2', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 7, contextLength: 512 });
    const jinja = await ProbeModel.load(path, { gpu: false });
    const builtin = await ProbeModel.load(path, { gpu: false, templateEngine: 'builtin' });
    try {
      expect(jinja.formatChat([{ role: 'user', content: 'Hi' }])).toContain('You are a helpful assistant.');
      expect(builtin.formatChat([{ role: 'user', content: 'Hi' }])).not.toContain('You are a helpful assistant.');
      expect(jinja.prepare('Hi').t0).toBeGreaterThan(builtin.prepare('Hi').t0);
    } finally {
      jinja.dispose();
      builtin.dispose();
    }
  });
});
