import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectSaeFormat, loadSae } from '../../src/core/sae/loaders/saeLoaders.ts';
import { writeFacetSae } from '../../src/core/sae/loaders/facetSaeFormat.ts';
import { referenceEncode, relativeL2 } from '../../src/core/sae/SaeReference.ts';
import { SaeSession } from '../../src/core/sae/SaeSession.ts';
import { seededRandom } from './saeFixtures.ts';
import { writeSafetensorsFixture, writeTorchCheckpoint } from './saeFileWriters.ts';

const root = mkdtempSync(join(tmpdir(), 'facet-sae-loaders-'));

/** Values k/64 with |k| ≤ 64: exact in float16 and bfloat16, so every dtype reads back exactly. */
function grid(length: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => Math.round((random() * 2 - 1) * 64) / 64);
}

function transposeOf(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c] as number;
  return out;
}

/** Encodes with the loaded SAE on onnxruntime and with an SAE formula the test writes out itself. */
/** TopK codes written out by hand in float64: pre = (x − b_dec)·W_enc + b_enc, keep the K largest, ReLU. */
function topKByHand(x: Float32Array, rows: number, sae: { wEnc: Float32Array; bEnc: Float32Array; bDec: Float32Array; dIn: number; dSae: number; k: number }): Float64Array {
  const { wEnc, bEnc, bDec, dIn, dSae, k } = sae;
  const out = new Float64Array(rows * dSae);
  for (let r = 0; r < rows; r++) {
    const pre = Array.from({ length: dSae }, (_, j) => {
      let s = bEnc[j] as number;
      for (let i = 0; i < dIn; i++) s += ((x[r * dIn + i] as number) - (bDec[i] as number)) * (wEnc[i * dSae + j] as number);
      return s;
    });
    const kept = [...pre.keys()].sort((a, b) => (pre[b] as number) - (pre[a] as number)).slice(0, k);
    for (const j of kept) out[r * dSae + j] = Math.max(0, pre[j] as number);
  }
  return out;
}

/** `referenceTolerance`: looser where the loader rescales weights in float32 (folded decoder norms). */
async function encodeBoth(path: string, expected: (x: Float32Array, rows: number) => Float64Array, dIn: number, referenceTolerance = 1e-9): Promise<void> {
  const { config, weights } = await loadSae(path);
  const rows = 9;
  const x = grid(rows * dIn, 99).map((v) => v * 3);
  const session = await SaeSession.create(config, weights, { threads: 1, provider: 'cpu' });
  const codes = await session.encode(x, rows);
  await session.dispose();
  const want = expected(x, rows);
  expect(relativeL2(codes, want)).toBeLessThan(1e-5);
  expect(relativeL2(referenceEncode(config, weights, x, rows), want)).toBeLessThan(referenceTolerance);
}

describe('SAE loaders', () => {
  it('SAELens v6 topk folder (float32): shapes, K, layer from meta.hook_name, encode', async () => {
    const dir = join(root, 'saelens-topk');
    const [dIn, dSae] = [6, 10];
    const wEnc = grid(dIn * dSae, 1);
    const wDec = grid(dSae * dIn, 2);
    const bEnc = grid(dSae, 3);
    const bDec = grid(dIn, 4);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ architecture: 'topk', d_in: dIn, d_sae: dSae, k: 3, apply_b_dec_to_input: true, normalize_activations: 'none', meta: { hook_name: 'blocks.12.hook_resid_post', model_name: 'meta-llama/Llama-3.1-8B' } }));
    writeSafetensorsFixture(join(dir, 'sae_weights.safetensors'), {
      W_enc: { shape: [dIn, dSae], values: wEnc },
      W_dec: { shape: [dSae, dIn], values: wDec },
      b_enc: { shape: [dSae], values: bEnc },
      b_dec: { shape: [dIn], values: bDec },
    });
    expect((await detectSaeFormat(join(dir, 'cfg.json'))).format).toBe('saelens');
    const { config, weights } = await loadSae(dir);
    expect(config).toMatchObject({ architecture: 'topk', dIn, dSae, k: 3, layer: 12, modelFamily: 'meta-llama/Llama-3.1-8B', tied: false });
    expect(config.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Array.from(weights.wEnc)).toEqual(Array.from(wEnc));
    expect(Array.from(weights.wDec ?? [])).toEqual(Array.from(wDec));
    await encodeBoth(
      dir,
      (x, rows) => topKByHand(x, rows, { wEnc, bEnc, bDec, dIn, dSae, k: 3 }),
      dIn,
    );
  });

  it('SAELens jumprelu in bfloat16 with per-feature thresholds; old flat config with hook_resid_pre', async () => {
    const dir = join(root, 'saelens-jumprelu');
    const [dIn, dSae] = [5, 8];
    const threshold = Float32Array.from(grid(dSae, 5), Math.abs);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ architecture: 'jumprelu', d_in: dIn, d_sae: dSae, hook_name: 'blocks.7.hook_resid_pre', model_name: 'gemma-2-2b', apply_b_dec_to_input: false, normalize_activations: 'none' }));
    const wEnc = grid(dIn * dSae, 6);
    const bEnc = grid(dSae, 7);
    writeSafetensorsFixture(join(dir, 'sae_weights.safetensors'), {
      W_enc: { dtype: 'BF16', shape: [dIn, dSae], values: wEnc },
      W_dec: { dtype: 'BF16', shape: [dSae, dIn], values: grid(dSae * dIn, 8) },
      b_enc: { dtype: 'BF16', shape: [dSae], values: bEnc },
      b_dec: { dtype: 'BF16', shape: [dIn], values: grid(dIn, 9) },
      threshold: { dtype: 'BF16', shape: [dSae], values: threshold },
    });
    const { config, weights } = await loadSae(dir);
    expect(config).toMatchObject({ architecture: 'jumprelu', layer: 6, applyBDecToInput: false, threshold: null });
    expect(Array.from(weights.threshold ?? [])).toEqual(Array.from(threshold));
    await encodeBoth(
      dir,
      (x, rows) => {
        const out = new Float64Array(rows * dSae);
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < dSae; j++) {
            let s = bEnc[j] as number;
            for (let i = 0; i < dIn; i++) s += (x[r * dIn + i] as number) * (wEnc[i * dSae + j] as number);
            out[r * dSae + j] = s > (threshold[j] as number) && s > 0 ? s : 0;
          }
        }
        return out;
      },
      dIn,
    );
  });

  it('SAELens batchtopk: the scalar topk_threshold becomes a per-feature JumpReLU threshold (as SAELens saves for inference); without it, per-row TopK', async () => {
    const [dIn, dSae] = [4, 6];
    const write = (name: string, extra: Record<string, { shape: number[]; values: number[] }>): string => {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ architecture: 'batchtopk', d_in: dIn, d_sae: dSae, k: 2 }));
      writeSafetensorsFixture(join(dir, 'sae_weights.safetensors'), {
        W_enc: { shape: [dIn, dSae], values: grid(dIn * dSae, 30) },
        W_dec: { shape: [dSae, dIn], values: grid(dSae * dIn, 31) },
        b_enc: { shape: [dSae], values: grid(dSae, 32) },
        b_dec: { shape: [dIn], values: grid(dIn, 33) },
        ...extra,
      });
      return dir;
    };
    const withThreshold = await loadSae(write('batchtopk-threshold', { topk_threshold: { shape: [], values: [0.375] } }));
    expect(withThreshold.config).toMatchObject({ architecture: 'jumprelu', k: null, threshold: null });
    expect(Array.from(withThreshold.weights.threshold ?? [])).toEqual(new Array<number>(dSae).fill(0.375));
    expect(withThreshold.config.source.transforms).toEqual(['batchtopk-threshold-to-jumprelu', 'fold-decoder-norms']);
    const withoutThreshold = await loadSae(write('batchtopk-plain', {}));
    expect(withoutThreshold.config).toMatchObject({ architecture: 'batchtopk', k: 2, threshold: null });
  });

  it('sparsify folder layers.N in float16: encoder stored transposed, model from the run config', async () => {
    const run = join(root, 'sparsify-run');
    const dir = join(run, 'layers.5');
    const [dIn, dSae, k] = [4, 12, 2];
    const wEnc = grid(dIn * dSae, 10);
    const wDec = grid(dSae * dIn, 11);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(run, 'config.json'), JSON.stringify({ model: 'EleutherAI/pythia-160m' }));
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ activation: 'topk', expansion_factor: 3, normalize_decoder: true, num_latents: 0, k, multi_topk: false, skip_connection: false, transcode: false, d_in: dIn }));
    const bEnc = grid(dSae, 12);
    const bDec = grid(dIn, 13);
    writeSafetensorsFixture(join(dir, 'sae.safetensors'), {
      'encoder.weight': { dtype: 'F16', shape: [dSae, dIn], values: transposeOf(wEnc, dIn, dSae) },
      'encoder.bias': { dtype: 'F16', shape: [dSae], values: bEnc },
      W_dec: { dtype: 'F16', shape: [dSae, dIn], values: wDec },
      b_dec: { dtype: 'F16', shape: [dIn], values: bDec },
    });
    expect((await detectSaeFormat(dir)).format).toBe('sparsify');
    const { config, weights } = await loadSae(dir);
    expect(config).toMatchObject({ architecture: 'topk', dIn, dSae, k, layer: 5, modelFamily: 'EleutherAI/pythia-160m', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(Array.from(weights.wEnc)).toEqual(Array.from(wEnc));
    expect(Array.from(weights.wDec ?? [])).toEqual(Array.from(wDec));
  });

  it('Llama Scope as OpenMOSS loads it: dataset norm folded into the biases, unit decoder columns, raw-unit threshold', async () => {
    const dir = join(root, 'llama-scope', 'Llama3_1-8B-Base-L9R-8x');
    const [dIn, dSae] = [4, 6];
    const normIn = 8;
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    writeFileSync(join(dir, 'hyperparams.json'), JSON.stringify({ d_model: dIn, d_sae: dSae, act_fn: 'jumprelu', jump_relu_threshold: 0.25, top_k: 50, norm_activation: 'dataset-wise', dataset_average_activation_norm: { in: normIn, out: normIn }, sparsity_include_decoder_norm: true, apply_decoder_bias_to_pre_encoder: false, hook_point_in: 'blocks.9.hook_resid_post', hook_point_out: 'blocks.9.hook_resid_post' }));
    writeFileSync(join(dir, 'lm_config.json'), JSON.stringify({ model_name: 'meta-llama/Llama-3.1-8B' }));
    const wEnc = grid(dIn * dSae, 14);
    const wDec = grid(dSae * dIn, 15).map((v) => v + 0.5);
    const bEnc = grid(dSae, 16);
    writeSafetensorsFixture(join(dir, 'checkpoints', 'final.safetensors'), {
      'encoder.weight': { shape: [dSae, dIn], values: transposeOf(wEnc, dIn, dSae) },
      'encoder.bias': { shape: [dSae], values: bEnc },
      'decoder.weight': { shape: [dIn, dSae], values: transposeOf(wDec, dSae, dIn) },
      'decoder.bias': { shape: [dIn], values: grid(dIn, 17) },
    });
    const { config, weights } = await loadSae(dir);
    const scale = Math.sqrt(dIn) / normIn;
    expect(config).toMatchObject({ architecture: 'jumprelu', layer: 9, normalisation: { kind: 'none' }, threshold: 0.25, modelFamily: 'meta-llama/Llama-3.1-8B' });
    expect(config.source).toMatchObject({ format: 'llama-scope', transforms: ['openmoss-dataset-norm', 'fold-decoder-norms'] });
    const norms = Array.from({ length: dSae }, (_, j) => Math.hypot(...Array.from(wDec.subarray(j * dIn, (j + 1) * dIn))));
    for (let j = 0; j < dSae; j++) expect(Math.hypot(...Array.from((weights.wDec as Float32Array).subarray(j * dIn, (j + 1) * dIn)))).toBeCloseTo(1, 6);
    await encodeBoth(
      dir,
      (x, rows) => {
        // Raw units: pre_j = (x·W_enc[:, j] + b_enc_j / s_in) · ‖W_dec row j‖, kept where > 0.25.
        const out = new Float64Array(rows * dSae);
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < dSae; j++) {
            let s = (bEnc[j] as number) / scale;
            for (let i = 0; i < dIn; i++) s += (x[r * dIn + i] as number) * (wEnc[i * dSae + j] as number);
            s *= norms[j] as number;
            out[r * dSae + j] = s > 0.25 ? s : 0;
          }
        }
        return out;
      },
      dIn,
      1e-6,
    );
  });

  it("the paper's .pth checkpoint: pickle + zip read in TypeScript, tied, layer l16 → l_out-15", async () => {
    const [dIn, dSae] = [5, 9];
    const wEnc = grid(dIn * dSae, 18);
    const bEnc = grid(dSae, 19);
    const bDec = grid(dIn, 20);
    const path = join(root, 'paper', 'TopK7_l16_h9_epoch3.pth');
    writeTorchCheckpoint(path, { mask: { shape: [dSae], values: new Float32Array(dSae).fill(1) }, W_enc: { shape: [dIn, dSae], values: wEnc }, b_enc: { shape: [dSae], values: bEnc }, b_dec: { shape: [dIn], values: bDec } }, { d_inp: dIn, d_hide: dSae, topK: 3 });
    expect((await detectSaeFormat(path)).format).toBe('paper-pth');
    const { config, weights } = await loadSae(path);
    expect(config).toMatchObject({ architecture: 'topk', k: 3, tied: true, layer: 15, applyBDecToInput: true });
    expect(weights.wDec).toBeNull();
    expect(Array.from(weights.wEnc)).toEqual(Array.from(wEnc));
    await encodeBoth(
      path,
      (x, rows) => topKByHand(x, rows, { wEnc, bEnc, bDec, dIn, dSae, k: 3 }),
      dIn,
    );
  });

  it('reads deflated entries, other archive prefixes, bare state dicts and strided (transposed) tensors', async () => {
    const [dIn, dSae] = [3, 4];
    const wEnc = grid(dIn * dSae, 21);
    const path = join(root, 'paper', 'sae_l3_custom.pth');
    writeTorchCheckpoint(path, { W_enc: { shape: [dIn, dSae], values: wEnc, transposedView: true }, b_enc: { shape: [dSae], values: grid(dSae, 22) }, b_dec: { shape: [dIn], values: grid(dIn, 23) } }, null, { prefix: 'sae_l3_custom', deflate: true });
    const { config, weights } = await loadSae(path);
    expect(config).toMatchObject({ architecture: 'standard', tied: true, layer: 2, k: null });
    expect(Array.from(weights.wEnc)).toEqual(Array.from(wEnc));
  });

  it('reads ZIP64 archives (saturated sizes and offsets, ZIP64 end record)', async () => {
    const [dIn, dSae] = [3, 5];
    const wEnc = grid(dIn * dSae, 27);
    const path = join(root, 'paper', 'TopK7_l2_h5_zip64.pth');
    writeTorchCheckpoint(path, { W_enc: { shape: [dIn, dSae], values: wEnc }, b_enc: { shape: [dSae], values: grid(dSae, 28) }, b_dec: { shape: [dIn], values: grid(dIn, 29) } }, { d_inp: dIn, d_hide: dSae, topK: 2 }, { zip64: true });
    const { config, weights } = await loadSae(path);
    expect(config).toMatchObject({ architecture: 'topk', k: 2, layer: 1 });
    expect(Array.from(weights.wEnc)).toEqual(Array.from(wEnc));
  });

  it("Facet's own layout round-trips (what training writes)", async () => {
    const dir = join(root, 'facet-own');
    const [dIn, dSae] = [3, 5];
    const weights = { wEnc: grid(dIn * dSae, 24), bEnc: grid(dSae, 25), wDec: null, bDec: grid(dIn, 26), threshold: null };
    await writeFacetSae(dir, { architecture: 'topk', dIn, dSae, k: 2, normalisation: { kind: 'none' }, tied: true, applyBDecToInput: true, threshold: null, modelFamily: 'tiny-llama', layer: 1 }, weights);
    const loaded = await loadSae(dir);
    expect(loaded.config).toMatchObject({ architecture: 'topk', k: 2, tied: true, layer: 1, modelFamily: 'tiny-llama' });
    expect(loaded.config.source.format).toBe('facet');
    expect(Array.from(loaded.weights.wEnc)).toEqual(Array.from(weights.wEnc));
  });
});

describe('SAE loaders refuse bad input with coded errors naming the file', () => {
  const good = (name: string, dSaeInCfg = 4): string => {
    const dir = join(root, 'bad', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ architecture: 'standard', d_in: 3, d_sae: dSaeInCfg }));
    writeSafetensorsFixture(join(dir, 'sae_weights.safetensors'), {
      W_enc: { shape: [3, 4], values: grid(12, 1) },
      W_dec: { shape: [4, 3], values: grid(12, 2) },
      b_enc: { shape: [4], values: grid(4, 3) },
      b_dec: { shape: [3], values: grid(3, 4) },
    });
    return dir;
  };

  it('truncated safetensors → SAE_FILE_INVALID', async () => {
    const dir = good('truncated');
    const file = join(dir, 'sae_weights.safetensors');
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    await expect(loadSae(dir)).rejects.toMatchObject({ code: 'SAE_FILE_INVALID', message: expect.stringMatching(/sae_weights\.safetensors.*truncated/) });
  });

  it('a header longer than the file → SAE_FILE_INVALID', async () => {
    const dir = good('header');
    const file = join(dir, 'sae_weights.safetensors');
    writeFileSync(file, readFileSync(file).subarray(0, 40));
    await expect(loadSae(dir)).rejects.toMatchObject({ code: 'SAE_FILE_INVALID' });
  });

  it('config and tensors disagree → SAE_SHAPE_MISMATCH naming the tensor', async () => {
    const dir = good('shapes', 5);
    await expect(loadSae(dir)).rejects.toMatchObject({ code: 'SAE_SHAPE_MISMATCH', message: expect.stringMatching(/W_enc.*\[3, 4\].*\[3, 5\]/) });
  });

  it('NaN weights → SAE_NAN naming tensor and index', async () => {
    const dir = join(root, 'bad', 'nan');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ architecture: 'standard', d_in: 3, d_sae: 4 }));
    const wEnc = grid(12, 1);
    wEnc[7] = Number.NaN;
    writeSafetensorsFixture(join(dir, 'sae_weights.safetensors'), {
      W_enc: { shape: [3, 4], values: wEnc },
      W_dec: { shape: [4, 3], values: grid(12, 2) },
      b_enc: { shape: [4], values: grid(4, 3) },
      b_dec: { shape: [3], values: grid(3, 4) },
    });
    await expect(loadSae(dir)).rejects.toMatchObject({ code: 'SAE_NAN', message: expect.stringMatching(/sae_weights\.safetensors.*W_enc.*index 7/) });
  });

  it('unknown architecture → SAE_ARCH_UNKNOWN', async () => {
    const dir = good('gated');
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ architecture: 'gated', d_in: 3, d_sae: 4 }));
    await expect(loadSae(dir)).rejects.toMatchObject({ code: 'SAE_ARCH_UNKNOWN', message: expect.stringMatching(/cfg\.json.*gated/) });
  });

  it('a .pth that is not a zip → SAE_FILE_INVALID', async () => {
    const path = join(root, 'bad', 'legacy_l3.pth');
    writeFileSync(path, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8]));
    await expect(loadSae(path)).rejects.toMatchObject({ code: 'SAE_FILE_INVALID', message: expect.stringMatching(/legacy_l3\.pth is not a ZIP/) });
  });

  it('a file that is not an SAE (a photo) → SAE_FORMAT_UNKNOWN naming that file and a one-line list of layouts', async () => {
    const dir = join(root, 'bad', 'photos');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'demo.log'), 'x');
    const photo = join(dir, 'my photo.png');
    writeFileSync(photo, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]));
    const error = (await loadSae(photo).then(
      () => new Error('loaded'),
      (caught: unknown) => caught,
    )) as Error & { code: string };
    expect(error).toMatchObject({ code: 'SAE_FORMAT_UNKNOWN' });
    expect(error.message).toMatch(/^my photo\.png is a file that is not an SAE \(not \.safetensors/);
    expect(error.message).not.toMatch(/demo\.log|W_enc/);
    expect(error.message.length).toBeLessThan(400);
  });

  it('a folder of something else → SAE_FORMAT_UNKNOWN', async () => {
    const dir = join(root, 'bad', 'other');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    await expect(loadSae(dir)).rejects.toMatchObject({ code: 'SAE_FORMAT_UNKNOWN', message: expect.stringMatching(/notes\.txt.*Facet reads an SAE folder \(SAELens/) });
  });
});
