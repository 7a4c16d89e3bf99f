import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, JinjaTemplateChatWrapper, LlamaLogLevel, type ChatHistoryItem } from 'node-llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { bundledVocabPath, llamaSourceBundlePath } from '../../src/core/forge/BundledVocab.ts';
import { forgeChatTemplate } from '../../src/core/forge/ForgeChatTemplates.ts';
import { forgeModel } from '../../src/core/forge/forgeModel.ts';
import { readGgufHeader } from '../../src/core/gguf/GgufReader.ts';

const dir = mkdtempSync(join(tmpdir(), 'facet-forge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The tokenizer test vectors llama.cpp keeps beside each vocab file: inputs and expected ids. */
let clone: string | undefined;
function tokenizerVectors(vocab: string): { text: string; ids: number[] }[] {
  if (clone === undefined) {
    clone = mkdtempSync(join(dir, 'src-'));
    execFileSync('git', ['clone', '--quiet', '--no-checkout', llamaSourceBundlePath(), clone]);
  }
  const show = (path: string): string => execFileSync('git', ['-C', clone!, 'show', `HEAD:${path}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const inputs = show(`models/ggml-vocab-${vocab}.gguf.inp`).split('\n__ggml_vocab_test__\n');
  const outputs = show(`models/ggml-vocab-${vocab}.gguf.out`).split('\n');
  return inputs.slice(0, outputs.length).map((text, i) => ({ text, ids: (outputs[i] ?? '').trim().split(/\s+/).filter(Boolean).map(Number) }));
}

describe('forgeModel', () => {
  it('writes byte-identical files for the same arguments and different ones for another seed', async () => {
    const options = { family: 'mistral', layers: 2, dim: 64, seed: 11 } as const;
    await forgeModel({ ...options, out: join(dir, 'a.gguf') });
    await forgeModel({ ...options, out: join(dir, 'b.gguf') });
    await forgeModel({ ...options, seed: 12, out: join(dir, 'c.gguf') });
    expect(sha256(join(dir, 'a.gguf'))).toBe(sha256(join(dir, 'b.gguf')));
    expect(sha256(join(dir, 'a.gguf'))).not.toBe(sha256(join(dir, 'c.gguf')));
  });

  it('copies every tokenizer key, adds the family chat template and the expected tensors', async () => {
    const forged = await forgeModel({ family: 'qwen2', layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 3, out: join(dir, 'q.gguf') });
    expect(forged).toMatchObject({ architecture: 'qwen2', heads: 4, kvHeads: 2, headDim: 16, ff: 128, vocabSize: 151936 });
    const header = await readGgufHeader(forged.path);
    const vocab = await readGgufHeader(await bundledVocabPath('qwen2'));
    for (const [key, value] of vocab.metadata) {
      if (key.startsWith('tokenizer.') && key !== 'tokenizer.chat_template') expect(header.metadata.get(key), key).toEqual(value);
    }
    expect(String(header.metadata.get('tokenizer.chat_template')?.value)).toContain('<|im_start|>');
    expect(header.metadata.get('qwen2.attention.head_count_kv')).toEqual({ type: 'uint32', value: 2 });
    const names = header.tensors.map((t) => t.name);
    expect(names).toContain('blk.1.attn_q.bias');
    expect(names).not.toContain('output.weight');
    expect(header.tensors.find((t) => t.name === 'blk.0.attn_k.weight')?.dims).toEqual([64, 32]);
  });

  it('gives each family a chat template that renders its prompt format', async () => {
    const history: ChatHistoryItem[] = [
      { type: 'system', text: 'Be brief.' },
      { type: 'user', text: 'Hi there' },
      { type: 'model', response: ['Hello!'] },
      { type: 'user', text: 'Bye' },
    ];
    const expected = {
      llama3: 'BOS<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>',
      mistral: 'BOS[INST] Be brief.\n\nHi there [/INST] Hello!EOS[INST] Bye [/INST]',
      qwen2: '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n',
    } as const;
    for (const family of ['llama3', 'mistral', 'qwen2'] as const) {
      const wrapper = new JinjaTemplateChatWrapper({ template: forgeChatTemplate(family) });
      expect(wrapper.generateContextState({ chatHistory: history }).contextText.toString(), family).toBe(expected[family]);
    }
  });

  it('rejects impossible shapes', async () => {
    await expect(forgeModel({ family: 'llama3', layers: 2, dim: 64, heads: 5, seed: 1, out: join(dir, 'x.gguf') })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(forgeModel({ family: 'llama3', layers: 0, dim: 64, seed: 1, out: join(dir, 'x.gguf') })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(forgeModel({ family: 'llama3', layers: 2, dim: 64, heads: 4, kvHeads: 3, seed: 1, out: join(dir, 'x.gguf') })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('loads in llama.cpp and tokenizes exactly like the real tokenizer of each family', async () => {
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    const cases = [
      { family: 'llama3', vocab: 'llama-bpe', chat: '<|start_header_id|>' },
      { family: 'mistral', vocab: 'llama-spm', chat: '[INST]' },
      { family: 'qwen2', vocab: 'qwen2', chat: '<|im_start|>' },
    ] as const;
    for (const { family, vocab, chat } of cases) {
      const forged = await forgeModel({ family, layers: 2, dim: 64, seed: 5, out: join(dir, `${family}.gguf`) });
      const model = await llama.loadModel({ modelPath: forged.path });
      try {
        expect(model.fileInfo.metadata.general.architecture).toBe(forged.architecture);
        const vectors = tokenizerVectors(vocab).filter((v) => v.text.trim().length > 0).slice(0, 12);
        expect(vectors.length).toBeGreaterThan(5);
        for (const { text, ids } of vectors) expect([...model.tokenize(text)], `${family}: ${JSON.stringify(text)}`).toEqual(ids);
        expect(String(model.fileInfo.metadata.tokenizer.chat_template)).toContain(chat);
      } finally {
        await model.dispose();
      }
    }
  });
});
