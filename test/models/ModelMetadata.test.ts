import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundledVocabPath } from '../../src/core/forge/BundledVocab.ts';
import { gguf } from '../../src/core/gguf/GgufValue.ts';
import { writeGguf } from '../../src/core/gguf/GgufWriter.ts';
import { estimateModelMemory } from '../../src/core/models/estimateModelMemory.ts';
import { readModelMetadata } from '../../src/core/models/ModelMetadata.ts';
import { physicalCoreCount } from '../../src/core/llama/physicalCoreCount.ts';
import { migrations } from '../../src/core/store/migrations/index.ts';
import { Store } from '../../src/core/store/Store.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';

const dir = mkdtempSync(join(tmpdir(), 'facet-model-meta-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('model metadata', () => {
  it('reads shape, quantization and tokenizer of a forged F16 model', async () => {
    const forged = await forgeTestModel({ family: 'llama3', layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 41, weightType: 'F16' });
    const meta = await readModelMetadata(forged.path);
    expect(meta).toMatchObject({ architecture: 'llama', blockCount: 2, embeddingLength: 64, headCount: 4, headCountKv: 2, headDim: 16, fileType: 1, quantization: 'F16', tokenizerModel: 'gpt2', tokenizerPre: 'llama-bpe', vocabSize: 128256 });
    // token_embd dominates: 128256 x 64 halves
    expect(meta.weightsBytes).toBeGreaterThan(128256 * 64 * 2);
    expect(meta.weightsBytes).toBeLessThan(meta.sizeBytes);
  });

  it('guesses the quantization from the tensors when the file does not state it', async () => {
    const path = join(dir, 'q4.gguf');
    // No general.file_type: the 2-D tensors' type, by bytes, stands in for it.
    await writeGguf(path, {
      metadata: [['general.architecture', gguf.str('llama')], ['llama.block_count', gguf.u32(1)]],
      tensors: [
        { name: 'a', dims: [64], type: 'F32', data: new Float32Array(64) },
        { name: 'b', dims: [64, 64], type: 'F16', data: new Float32Array(64 * 64) },
      ],
    });
    const meta = await readModelMetadata(path);
    expect(meta.fileType).toBeNull();
    expect(meta.quantization).toBe('~F16');
  });

  it('reads a vocabulary-only file and rejects a GGUF without an architecture', async () => {
    const meta = await readModelMetadata(await bundledVocabPath('bert-bge'));
    expect(meta).toMatchObject({ architecture: 'bert', blockCount: 12, tokenizerModel: 'bert', weightsBytes: 0 });
    const path = join(dir, 'noarch.gguf');
    await writeGguf(path, { metadata: [['general.name', gguf.str('x')]], tensors: [] });
    await expect(readModelMetadata(path)).rejects.toMatchObject({ code: 'GGUF_INVALID' });
  });
});

describe('memory estimate and cores', () => {
  it('computes the KV cache as 2 x blocks x context x kvHeads x headDim x bytes', () => {
    // Llama-3-8B shape: 32 blocks, 8 KV heads of 128, 8192 tokens, f16 → exactly 1 GiB.
    const estimate = estimateModelMemory({ weightsBytes: 4_920_000_000, blockCount: 32, headCountKv: 8, headDim: 128 }, 8192);
    expect(estimate.kvCacheBytes).toBe(2 ** 30);
    expect(estimate.totalBytes).toBe(4_920_000_000 + 2 ** 30);
    expect(estimateModelMemory({ weightsBytes: 0, blockCount: 32, headCountKv: 8, headDim: 128 }, 8192, 'f32').kvCacheBytes).toBe(2 ** 31);
  });

  it('counts physical cores within the logical count', async () => {
    const cores = physicalCoreCount();
    expect(cores).toBeGreaterThanOrEqual(1);
    expect(cores).toBeLessThanOrEqual(availableParallelism());
  });
});

describe('migration 0002 (models)', () => {
  it('adds the models table to a version-1 workspace and keeps its data', () => {
    const path = join(dir, 'old.db');
    const old = Store.open(path, { migrations: migrations.slice(0, 1) });
    old.db.prepare("INSERT INTO datasets (name, role, format, source_path, state, created_at) VALUES ('d', 'seed', 'jsonl', '/x', 'ready', '2026-01-01')").run();
    old.close();
    const store = Store.open(path, { migrations: migrations.slice(0, 2) });
    try {
      expect(store.schemaVersion).toBe(2);
      expect(store.db.prepare('SELECT name FROM datasets').all()).toEqual([{ name: 'd' }]);
      const columns = (store.db.prepare('PRAGMA table_info(models)').all() as { name: string }[]).map((c) => c.name);
      expect(columns).toEqual(expect.arrayContaining(['name', 'path', 'content_hash', 'architecture', 'block_count', 'quantization', 'tokenizer_pre', 'chat_template']));
      expect(() => store.db.prepare("INSERT INTO models (name, path, content_hash, size_bytes, architecture, quantization, source, added_at) VALUES ('m', '/m', 'h', 'big', 'llama', 'F32', 'file', 'now')").run()).toThrow();
    } finally {
      store.close();
    }
  });
});
