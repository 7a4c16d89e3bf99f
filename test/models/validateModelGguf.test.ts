import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader, readTensorAsFloat32, type GgufHeader } from '../../src/core/gguf/GgufReader.ts';
import { gguf, type GgufValue } from '../../src/core/gguf/GgufValue.ts';
import { writeGguf, type GgufTensorSpec } from '../../src/core/gguf/GgufWriter.ts';
import { ProbeModel } from '../../src/core/llama/ProbeModel.ts';
import { ModelService } from '../../src/core/models/ModelService.ts';
import { Store } from '../../src/core/store/Store.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { runFacet } from '../support/runFacet.ts';

const dir = mkdtempSync(join(tmpdir(), 'facet-validate-gguf-'));
let good: string;
let header: GgufHeader;
let tensors: GgufTensorSpec[];
let store: Store;
let service: ModelService;

/** The good model with its metadata edited; with its tensors unless `headerOnly`. */
async function variant(name: string, edit: (meta: Map<string, GgufValue>) => void, options: { headerOnly?: boolean } = {}): Promise<string> {
  const meta = new Map(header.metadata);
  edit(meta);
  const path = join(dir, `${name}.gguf`);
  await writeGguf(path, { metadata: meta, tensors: options.headerOnly === true ? [] : tensors });
  return path;
}

function duplicateToken(meta: Map<string, GgufValue>): void {
  const tokens = meta.get('tokenizer.ggml.tokens')!;
  const list = [...(tokens.value as string[])];
  list[500] = list[400]!;
  meta.set('tokenizer.ggml.tokens', { type: 'array', elementType: 'string', value: list });
}

beforeAll(async () => {
  good = (await forgeTestModel({ family: 'qwen2', layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 5, contextLength: 256 })).path;
  header = await readGgufHeader(good);
  tensors = await Promise.all(header.tensors.map(async (t) => ({ name: t.name, dims: t.dims, type: 'F32' as const, data: await readTensorAsFloat32(header, t.name) })));
  store = Store.open(join(dir, 'workspace', 'facet.db'));
  service = new ModelService(store);
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a GGUF llama.cpp would abort on is refused with a coded error before it loads', () => {
  // Each of these reached a GGML_ASSERT (exit 134) or an endless allocation before the checks.
  // ProbeModel.load runs in this test process: without the checks the test worker would die.
  it.each([
    ['block_count 0', 'qwen2.block_count', (m: Map<string, GgufValue>) => m.set('qwen2.block_count', gguf.u32(0)), 'GGUF_HPARAMS_INVALID'],
    ['head_count 0', 'qwen2.attention.head_count', (m: Map<string, GgufValue>) => m.set('qwen2.attention.head_count', gguf.u32(0)), 'GGUF_HPARAMS_INVALID'],
    ['a duplicated token string', 'tokenizer.ggml.tokens', duplicateToken, 'GGUF_VOCAB_INVALID'],
  ] as const)('%s, at load and at registration', async (name, key, edit, code) => {
    const path = await variant(name.replace(/\W+/g, '-'), edit);
    const loaded = await ProbeModel.load(path, { gpu: false }).catch((e: unknown) => e);
    expect(loaded).toMatchObject({ code, details: { path, key } });
    expect((loaded as Error).message).toContain(path);
    expect((loaded as Error).message).toContain(key);
    await expect(service.add(path)).rejects.toMatchObject({ code });
    expect(service.list().map((m) => m.path)).not.toContain(path);
  });

  it.each([
    ['embedding_length 0', 'qwen2.embedding_length', gguf.u32(0)],
    ['feed_forward_length 0', 'qwen2.feed_forward_length', gguf.u32(0)],
    ['block_count 1,000,000', 'qwen2.block_count', gguf.u32(1_000_000)],
    ['block_count 513 (over LLAMA_MAX_LAYERS)', 'qwen2.block_count', gguf.u32(513)],
    ['heads that do not divide the embedding', 'qwen2.attention.head_count', gguf.u32(3)],
    ['KV heads that do not divide the heads', 'qwen2.attention.head_count_kv', gguf.u32(3)],
    ['a context_length of 0', 'qwen2.context_length', gguf.u32(0)],
    ['block_count as a string', 'qwen2.block_count', gguf.str('2')],
    ['experts used without experts', 'qwen2.expert_used_count', gguf.u32(2)],
    ['an unknown rope scaling type', 'qwen2.rope.scaling.type', gguf.str('spiral')],
    // found by the fuzz test (test/fuzz): each aborted llama.cpp before these checks
    ['a NaN normalisation epsilon', 'qwen2.attention.layer_norm_rms_epsilon', gguf.f32(Number.NaN)],
    ['a rope dimension count other than the head size', 'qwen2.rope.dimension_count', gguf.u32(8)],
  ] as const)('%s', async (name, key, value) => {
    const path = await variant(name.replace(/\W+/g, '-'), (m) => m.set(key, value), { headerOnly: true });
    const error = await service.add(path).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'GGUF_HPARAMS_INVALID', details: { path, key } });
    expect((error as Error).message).toMatch(/convert|download|heads/);
  });

  it('an unknown architecture, a special token id outside the vocabulary, an empty token that collides once renamed', async () => {
    const unknown = await variant('arch', (m) => m.set('general.architecture', gguf.str('qwen9000')), { headerOnly: true });
    await expect(service.add(unknown)).rejects.toMatchObject({ code: 'MODEL_ARCH_UNSUPPORTED', details: { key: 'general.architecture' } });
    const badBos = await variant('bos', (m) => m.set('tokenizer.ggml.bos_token_id', gguf.u32(10_000_000)), { headerOnly: true });
    await expect(service.add(badBos)).rejects.toMatchObject({ code: 'GGUF_VOCAB_INVALID', details: { key: 'tokenizer.ggml.bos_token_id' } });
    const emptyCollision = await variant('empty', (m) => {
      const list = [...(m.get('tokenizer.ggml.tokens')!.value as string[])];
      list[7] = '';
      list[8] = '[EMPTY_7]'; // llama.cpp renames an empty token to [EMPTY_<id>]: the same string
      m.set('tokenizer.ggml.tokens', { type: 'array', elementType: 'string', value: list });
    }, { headerOnly: true });
    await expect(service.add(emptyCollision)).rejects.toMatchObject({ code: 'GGUF_VOCAB_INVALID', details: { firstId: 7, id: 8 } });
    // found by the fuzz test: llama.cpp reads token strings as C strings, so "x\0y" is "x"
    const nulCollision = await variant('nul', (m) => {
      const list = [...(m.get('tokenizer.ggml.tokens')!.value as string[])];
      list[9] = `${list[8]!}\u0000tail`;
      m.set('tokenizer.ggml.tokens', { type: 'array', elementType: 'string', value: list });
    }, { headerOnly: true });
    await expect(service.add(nulCollision)).rejects.toMatchObject({ code: 'GGUF_VOCAB_INVALID', details: { firstId: 8, id: 9 } });
  });

  it('fuzz finds: a mixture-of-experts architecture without experts, a 16-byte alignment, a byte token in a WordPiece vocabulary', async () => {
    const moe = await variant('smallthinker', (m) => {
      for (const [key, value] of [...m]) if (key.startsWith('qwen2.')) m.set(`smallthinker.${key.slice(6)}`, value);
      m.set('general.architecture', gguf.str('smallthinker'));
    }, { headerOnly: true });
    await expect(service.add(moe)).rejects.toMatchObject({ code: 'GGUF_HPARAMS_INVALID', details: { key: 'smallthinker.expert_count' } });
    // general.alignment 16, with a name padded so that the data section starts 16 bytes off a multiple of 32
    let aligned16 = '';
    for (let pad = 0; pad < 32; pad++) {
      aligned16 = await variant('aligned16', (m) => {
        m.set('general.alignment', gguf.u32(16));
        m.set('general.name', gguf.str('x'.repeat(pad)));
      });
      if ((await readGgufHeader(aligned16)).dataOffset % 32 !== 0) break;
    }
    expect((await readGgufHeader(aligned16)).dataOffset % 32).toBe(16);
    await expect(ProbeModel.load(aligned16, { gpu: false })).rejects.toMatchObject({ code: 'GGUF_INVALID', details: { key: 'general.alignment' } });
    const wordPiece = await variant('wordpiece-bytes', (m) => {
      m.set('tokenizer.ggml.model', gguf.str('bert'));
      const types = [...(m.get('tokenizer.ggml.token_type')?.value as number[] | undefined ?? new Array<number>((m.get('tokenizer.ggml.tokens')!.value as string[]).length).fill(1))];
      types[5] = 6;
      m.set('tokenizer.ggml.token_type', { type: 'array', elementType: 'int32', value: types });
    }, { headerOnly: true });
    await expect(service.add(wordPiece)).rejects.toMatchObject({ code: 'GGUF_VOCAB_INVALID', details: { key: 'tokenizer.ggml.token_type', id: 5 } });
  });

  it('the forged models and the bundled vocabularies pass', async () => {
    await expect(service.add(good, { name: 'good' })).resolves.toMatchObject({ alreadyRegistered: false });
    for (const family of ['llama3', 'mistral'] as const) {
      const forged = await forgeTestModel({ family, layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 5 });
      await expect(service.add(forged.path, { name: family })).resolves.toMatchObject({ alreadyRegistered: false });
    }
  });

  it('a file registered before it went bad is checked again when it loads', async () => {
    const path = join(dir, 'changed.gguf');
    copyFileSync(good, path);
    await service.add(path, { name: 'changed' });
    const bad = await variant('changed-source', (m) => m.set('qwen2.block_count', gguf.u32(0)));
    copyFileSync(bad, path);
    await expect(ProbeModel.load(service.get('changed').path, { gpu: false })).rejects.toMatchObject({ code: 'GGUF_HPARAMS_INVALID' });
  });

  it('a GGUF v1 file has its own code', async () => {
    const path = join(dir, 'v1.gguf');
    const bytes = readFileSync(good).subarray(0, 65536);
    bytes.writeUInt32LE(1, 4);
    writeFileSync(path, bytes);
    const error = await service.add(path).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'GGUF_VERSION_UNSUPPORTED', details: { path, version: 1 } });
    expect((error as Error).message).toContain('Convert');
    await expect(ProbeModel.load(path, { gpu: false })).rejects.toMatchObject({ code: 'GGUF_VERSION_UNSUPPORTED' });
  });
});

describe('special paths and context/thread caps', () => {
  it('a folder, /dev/zero and a FIFO are refused up front, each with its own code', async () => {
    const folder = join(dir, 'folder.gguf');
    mkdirSync(folder);
    const fifo = join(dir, 'pipe.gguf');
    execFileSync('mkfifo', [fifo]);
    await expect(service.add(folder)).rejects.toMatchObject({ code: 'MODEL_PATH_IS_DIRECTORY' });
    await expect(ProbeModel.load(folder, { gpu: false })).rejects.toMatchObject({ code: 'MODEL_PATH_IS_DIRECTORY' });
    for (const special of ['/dev/zero', fifo]) {
      // opening the FIFO for reading would block forever: the check must come first
      await expect(service.add(special)).rejects.toMatchObject({ code: 'MODEL_FILE_SPECIAL', details: { path: special } });
      await expect(ProbeModel.load(special, { gpu: false })).rejects.toMatchObject({ code: 'MODEL_FILE_SPECIAL' });
    }
  });

  it('context 8 … training context (at least 4096) and threads 1 … 4 × logical cores', async () => {
    const model = await ProbeModel.load(good, { gpu: false });
    const large = await ProbeModel.load((await forgeTestModel({ family: 'llama3', layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 5, contextLength: 8192 })).path, { gpu: false });
    try {
      // a 256-token model may run up to 4096 tokens (llama.cpp allows it with a warning)
      for (const contextSize of [1, 7, 4097, 1_000_000_000]) {
        const error = await model.createContext({ contextSize, threads: 1 }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'CONTEXT_OUT_OF_RANGE', details: { contextSize, min: 8, max: 4096 } });
      }
      // an 8192-token model up to its training context
      await expect(large.createContext({ contextSize: 8193, threads: 1 })).rejects.toMatchObject({ code: 'CONTEXT_OUT_OF_RANGE', details: { max: 8192 } });
      for (const threads of [0, 100_000]) {
        await expect(model.createContext({ contextSize: 64, threads })).rejects.toMatchObject({ code: 'THREADS_OUT_OF_RANGE' });
      }
      const smallest = await model.createContext({ contextSize: 8, threads: 1 });
      const largest = await model.createContext({ contextSize: 4096, threads: 1 });
      const result = await largest.capture([model.prepare('still works', { template: false }).tokens], { layers: [1] });
      expect(result.activations.get(1)!.length).toBeGreaterThan(0);
      smallest.dispose();
      largest.dispose();
    } finally {
      model.dispose();
      large.dispose();
    }
  });

  it('the CLI gives the coded errors and exits normally', async () => {
    const home = join(dir, 'cli-home');
    const zeroBlocks = await variant('cli-zero-blocks', (m) => m.set('qwen2.block_count', gguf.u32(0)), { headerOnly: true });
    const add = await runFacet(['models', 'add', zeroBlocks, '--json'], home);
    expect(add.code).not.toBeNull();
    expect(add.code).not.toBe(0);
    expect(add.stdout + add.stderr).toContain('GGUF_HPARAMS_INVALID');
    const zero = await runFacet(['activations', '--model', '/dev/zero', '--text', 'hi', '--layer', '0', '--out', join(dir, 'a.npy')], home);
    expect(zero.code).not.toBe(0);
    expect(zero.stderr).toContain('MODEL_FILE_SPECIAL');
    for (const [flag, value, code] of [['--context', '4', 'CONTEXT_OUT_OF_RANGE'], ['--threads', '100000', 'THREADS_OUT_OF_RANGE']] as const) {
      const run = await runFacet(['activations', '--model', good, '--text', 'hi', '--layer', '0', '--out', join(dir, 'a.npy'), '--cpu', flag, value], home);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(code);
    }
  }, 120_000);
});
