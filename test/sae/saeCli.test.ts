import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../src/core/arrays/NpyFile.ts';
import type { SaeConfig } from '../../src/core/sae/SaeConfig.ts';
import { referenceDecode, referenceEncode, relativeL2 } from '../../src/core/sae/SaeReference.ts';
import { gaussian, seededRandom } from './saeFixtures.ts';
import { writeSafetensorsFixture, writeTorchCheckpoint } from './saeFileWriters.ts';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'facet-sae-cli-'));
const home = join(root, 'home');
const bin = join(import.meta.dirname, '..', '..', 'bin', 'facet.js');

async function facet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { ...process.env, FACET_HOME: home }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const [dIn, dSae, k] = [6, 16, 4];
const random = seededRandom(2024);
const wEnc = gaussian(dIn * dSae, random, 0.5);
const bEnc = gaussian(dSae, random, 0.1);
const bDec = gaussian(dIn, random, 0.1);
const config: SaeConfig = {
  architecture: 'topk',
  dIn,
  dSae,
  k,
  normalisation: { kind: 'none' },
  tied: true,
  applyBDecToInput: true,
  threshold: null,
  modelFamily: null,
  layer: 15,
  source: { format: 'paper-pth', path: '', files: [], hookName: null, notes: [] },
  hash: '',
};
const weights = { wEnc, bEnc, wDec: null, bDec, threshold: null };

describe('facet sae (CLI, real store, real onnxruntime)', () => {
  it('imports, lists, encodes to dense and sparse, decodes, refuses bad input without registering, removes', async () => {
    const pth = join(root, 'TopK7_l16_h16_epoch3.pth');
    writeTorchCheckpoint(pth, { W_enc: { shape: [dIn, dSae], values: wEnc }, b_enc: { shape: [dSae], values: bEnc }, b_dec: { shape: [dIn], values: bDec } }, { d_inp: dIn, d_hide: dSae, topK: k });

    const imported = await facet('sae', 'import', pth, '--name', 'paper', '--json');
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ name: 'paper', format: 'paper-pth', architecture: 'topk', dIn, dSae, k, layer: 15 });

    // Same weights again, then a NaN SAE: both refused, nothing new registered or left on disk.
    const again = await facet('sae', 'import', pth, '--name', 'copy', '--json');
    expect(again.code).toBe(2);
    expect(JSON.parse(again.stdout).error.message).toMatch(/already registered as 'paper'/);
    const nanDir = join(root, 'nan-sae');
    mkdirSync(nanDir, { recursive: true });
    writeFileSync(join(nanDir, 'cfg.json'), JSON.stringify({ architecture: 'standard', d_in: 2, d_sae: 3 }));
    writeSafetensorsFixture(join(nanDir, 'sae_weights.safetensors'), {
      W_enc: { shape: [2, 3], values: [1, 2, Number.NaN, 4, 5, 6] },
      W_dec: { shape: [3, 2], values: [1, 2, 3, 4, 5, 6] },
      b_enc: { shape: [3], values: [0, 0, 0] },
      b_dec: { shape: [2], values: [0, 0] },
    });
    const nan = await facet('sae', 'import', nanDir, '--json');
    expect(nan.code).toBe(1);
    expect(JSON.parse(nan.stdout).error).toMatchObject({ code: 'SAE_NAN' });
    const notZip = join(root, 'broken_l3.pth');
    writeFileSync(notZip, 'this is not a zip archive');
    const broken = await facet('sae', 'import', notZip);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/SAE_FILE_INVALID.*broken_l3\.pth is not a ZIP/);
    const listed = JSON.parse((await facet('sae', 'list', '--json')).stdout) as Array<{ name: string }>;
    expect(listed.map((s) => s.name)).toEqual(['paper']);
    expect(readdirSync(join(home, 'saes'))).toHaveLength(1);

    const info = JSON.parse((await facet('sae', 'info', 'paper', '--json')).stdout);
    expect(info.config).toMatchObject({ tied: true, layer: 15 });
    // A single-file SAE is stored under its parent folder's name (Qwen-Scope keeps K in it).
    expect(existsSync(join(info.storage, basename(root), 'TopK7_l16_h16_epoch3.pth'))).toBe(true);

    // Encode: dense and sparse; equal to the float64 reference.
    const rows = 300;
    const x = gaussian(rows * dIn, seededRandom(9), 1);
    await writeNpy(join(root, 'acts.npy'), x, [rows, dIn]);
    const encoded = await facet('sae', 'encode', '--sae', 'paper', '--input', join(root, 'acts.npy'), '--out', join(root, 'codes.npy'), '--sparse', join(root, 'codes.jsonl'), '--threads', '1', '--json');
    expect(encoded.code, encoded.stderr).toBe(0);
    expect(JSON.parse(encoded.stdout)).toMatchObject({ rows, dSae });
    const codes = await readNpy(join(root, 'codes.npy'));
    expect(codes.shape).toEqual([rows, dSae]);
    const expected = referenceEncode(config, weights, x, rows);
    expect(relativeL2(codes.data, expected)).toBeLessThan(1e-5);
    const lines = readFileSync(join(root, 'codes.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(rows);
    lines.forEach((line, r) => {
      const row = JSON.parse(line) as { indices: number[]; values: number[] };
      expect(row.indices.length).toBeLessThanOrEqual(k);
      const dense = Array.from(codes.data.subarray(r * dSae, (r + 1) * dSae));
      expect(row.indices).toEqual(dense.flatMap((v, j) => (v > 0 ? [j] : [])));
      expect(row.values).toEqual(row.indices.map((j) => dense[j]));
    });

    // The same activations as a safetensors tensor (what `facet activations --format safetensors` writes).
    writeSafetensorsFixture(join(root, 'acts.safetensors'), { activations: { shape: [rows, dIn], values: x } });
    const fromSafetensors = await facet('sae', 'encode', '--sae', 'paper', '--input', join(root, 'acts.safetensors'), '--out', join(root, 'codes-st.npy'), '--threads', '1');
    expect(fromSafetensors.code, fromSafetensors.stderr).toBe(0);
    expect(Array.from((await readNpy(join(root, 'codes-st.npy'))).data)).toEqual(Array.from(codes.data));

    // Decode from dense and from sparse codes.
    const decoded = await facet('sae', 'decode', '--sae', 'paper', '--input', join(root, 'codes.npy'), '--out', join(root, 'rec.npy'), '--threads', '1');
    expect(decoded.code, decoded.stderr).toBe(0);
    const reconstruction = await readNpy(join(root, 'rec.npy'));
    expect(reconstruction.shape).toEqual([rows, dIn]);
    expect(relativeL2(reconstruction.data, referenceDecode(config, weights, codes.data, rows))).toBeLessThan(1e-5);
    expect((await facet('sae', 'decode', '--sae', 'paper', '--input', join(root, 'codes.jsonl'), '--out', join(root, 'rec2.npy'))).code).toBe(0);
    expect(Array.from((await readNpy(join(root, 'rec2.npy'))).data)).toEqual(Array.from(reconstruction.data));

    // Activations of the wrong width are refused with a coded error.
    await writeNpy(join(root, 'wide.npy'), new Float32Array(14), [2, 7]);
    const wide = await facet('sae', 'encode', '--sae', 'paper', '--input', join(root, 'wide.npy'), '--out', join(root, 'x.npy'));
    expect(wide.code).toBe(1);
    expect(wide.stderr).toMatch(/SAE_SHAPE_MISMATCH.*wide\.npy.*\[2, 7\]/);
    // encode and decode ran as jobs of the workspace; the refused one was refused before it queued
    const jobs = JSON.parse((await facet('jobs', 'list', '--json')).stdout) as { kind: string; state: string }[];
    expect(jobs.map((job) => `${job.kind} ${job.state}`).sort()).toEqual(['sae.decode done', 'sae.decode done', 'sae.encode done', 'sae.encode done']);

    const removed = await facet('sae', 'remove', 'paper');
    expect(removed.code).toBe(0);
    expect(JSON.parse((await facet('sae', 'list', '--json')).stdout)).toEqual([]);
    expect(readdirSync(join(home, 'saes'))).toHaveLength(0);
    expect((await facet('sae', 'info', 'paper')).stderr).toMatch(/SAE_NOT_FOUND/);
  });
});
