import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledVocabPath } from '../../src/core/forge/BundledVocab.ts';
import { readGgufHeader, readTensorAsFloat32 } from '../../src/core/gguf/GgufReader.ts';
import { writeGguf } from '../../src/core/gguf/GgufWriter.ts';
import { ProbeModel } from '../../src/core/llama/ProbeModel.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { referenceResiduals, relativeL2 } from '../reference/ReferenceForward.ts';

describe('bad input gives coded errors and the process keeps working', () => {
  let dir: string;
  let good: string;
  let model: ProbeModel;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'facet-llama-bad-'));
    good = (await forgeTestModel({ family: 'qwen2', layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 3, contextLength: 512 })).path;
    model = await ProbeModel.load(good, { gpu: false });
  });
  afterAll(() => {
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('not a GGUF', async () => {
    const path = join(dir, 'notes.gguf');
    writeFileSync(path, 'this is plain text, not a model\n');
    await expect(ProbeModel.load(path, { gpu: false })).rejects.toMatchObject({ code: 'GGUF_INVALID' });
  });

  it('a GGUF of an unknown version', async () => {
    const path = join(dir, 'future.gguf');
    const bytes = readFileSync(good).subarray(0, 4096);
    bytes.writeUInt32LE(99, 4);
    writeFileSync(path, bytes);
    await expect(ProbeModel.load(path, { gpu: false })).rejects.toMatchObject({ code: 'GGUF_INVALID' });
  });

  it('a GGUF truncated inside the tensor data, and inside the metadata', async () => {
    const inData = join(dir, 'cut-data.gguf');
    copyFileSync(good, inData);
    truncateSync(inData, 9_000_000);
    await expect(ProbeModel.load(inData, { gpu: false })).rejects.toMatchObject({ code: 'GGUF_TRUNCATED' });
    const inHeader = join(dir, 'cut-header.gguf');
    copyFileSync(good, inHeader);
    truncateSync(inHeader, 4096);
    await expect(ProbeModel.load(inHeader, { gpu: false })).rejects.toMatchObject({ code: 'GGUF_TRUNCATED' });
  });

  it('an architecture without l_out tensors (the bundled BERT vocab file)', async () => {
    const bert = await bundledVocabPath('bert-bge');
    await expect(ProbeModel.load(bert, { gpu: false })).rejects.toMatchObject({ code: 'MODEL_ARCH_UNSUPPORTED' });
  });

  it('a GGUF that llama.cpp refuses (a block tensor missing) says why', async () => {
    const header = await readGgufHeader(good);
    const path = join(dir, 'missing-tensor.gguf');
    const kept = header.tensors.filter((tensor) => tensor.name !== 'blk.1.ffn_down.weight');
    const tensors = await Promise.all(kept.map(async (tensor) => ({ name: tensor.name, dims: tensor.dims, type: 'F32' as const, data: await readTensorAsFloat32(header, tensor.name) })));
    await writeGguf(path, { metadata: header.metadata, tensors });
    const error = await ProbeModel.load(path, { gpu: false }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    expect((error as Error).message).toContain('blk.1.ffn_down.weight');
  });

  it('a model file that vanished', async () => {
    const path = join(dir, 'gone.gguf');
    copyFileSync(good, path);
    unlinkSync(path);
    await expect(ProbeModel.load(path, { gpu: false })).rejects.toMatchObject({ code: 'MODEL_FILE_NOT_FOUND' });
  });

  it('a layer out of range', async () => {
    const context = await model.createContext({ contextSize: 128, threads: 1 });
    try {
      const tokens = model.prepare('hello').tokens;
      await expect(context.capture([tokens], { layers: [2] })).rejects.toMatchObject({ code: 'LAYER_OUT_OF_RANGE' });
      await expect(context.capture([tokens], { layers: [-1] })).rejects.toMatchObject({ code: 'LAYER_OUT_OF_RANGE' });
    } finally {
      context.dispose();
    }
  });

  it('a prompt longer than the context', async () => {
    const context = await model.createContext({ contextSize: 32, threads: 1 });
    try {
      const tokens = model.prepare('word '.repeat(60)).tokens;
      expect(tokens.length).toBeGreaterThan(32);
      await expect(context.capture([tokens], { layers: [0] })).rejects.toMatchObject({ code: 'PROMPT_TOO_LONG' });
      await expect(context.generate(tokens, { maxTokens: 4 })).rejects.toMatchObject({ code: 'PROMPT_TOO_LONG' });
    } finally {
      context.dispose();
    }
  });

  it('a capture cancelled through its AbortSignal', async () => {
    const context = await model.createContext({ contextSize: 512, batchSize: 16, threads: 1 });
    try {
      const samples = Array.from({ length: 400 }, (_, i) => model.prepare(`Sample number ${i} with some words in it.`).tokens);
      const controller = new AbortController();
      let progressCalls = 0;
      const running = context.capture(samples, {
        layers: [1],
        signal: controller.signal,
        onProgress: () => {
          if (++progressCalls === 2) controller.abort();
        },
      });
      setTimeout(() => controller.abort(), 20);
      await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
      const after = await context.capture([samples[0]!], { layers: [1] });
      expect(after.activations.get(1)!.length).toBe(samples[0]!.length * model.info.nEmbd);
    } finally {
      context.dispose();
    }
  });

  it('an addon that cannot load says why and what to run', async () => {
    const script = `import(${JSON.stringify(resolve('src/core/llama/ProbeModel.ts'))}).then((m) => m.ProbeModel.load(${JSON.stringify(good)}, { gpu: false })).catch((e) => { console.log(JSON.stringify({ code: e.code, message: e.message })); });`;
    const scriptPath = join(dir, 'loadWithoutAddon.mjs');
    writeFileSync(scriptPath, script);
    const { stdout } = await promisify(execFile)(process.execPath, [scriptPath], { env: { ...process.env, FACET_PROBE_ADDON: join(dir, 'missing', 'facet_probe.node') } });
    const error = JSON.parse(stdout.trim()) as { code: string; message: string };
    expect(error.code).toBe('ADDON_LOAD_FAILED');
    expect(error.message).toContain('npm run build:native');
  });

  it('still captures correctly after all of the above', async () => {
    const context = await model.createContext({ contextSize: 128, threads: 1, kv: 'f32' });
    try {
      const tokens = model.prepare('Still alive?').tokens;
      const result = await context.capture([tokens], { layers: [1] });
      const reference = await referenceResiduals(good, Array.from(tokens), [1]);
      expect(relativeL2(result.activations.get(1)!, reference.get(1)!)).toBeLessThanOrEqual(1e-5);
    } finally {
      context.dispose();
    }
  });
});
