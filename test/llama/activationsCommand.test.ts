import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../src/core/arrays/NpyFile.ts';
import { readSafetensorsHeader, readSafetensorsTensor } from '../../src/core/sae/formats/SafetensorsFile.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { referenceResiduals, relativeL2 } from '../reference/ReferenceForward.ts';
import { runFacet } from '../support/runFacet.ts';

interface Sidecar {
  layer: number;
  pool: string;
  samples: { tokens: number[]; offset: number; t0: number }[];
}

describe('facet activations', () => {
  let dir: string;
  let model: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'facet-activations-'));
    model = (await forgeTestModel({ family: 'mistral', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 5, contextLength: 512 })).path;
    writeFileSync(
      join(dir, 'input.jsonl'),
      [
        JSON.stringify({ text: 'A first sample about rivers.' }),
        JSON.stringify({ messages: [{ role: 'user', content: 'Second: what is a delta?' }, { role: 'assistant', content: 'Where a river meets the sea.' }] }),
        JSON.stringify({ text: 'Third.' }),
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every token of every sample (--pool none, --kv f32) matching the reference, with the sidecar', async () => {
    const out = join(dir, 'acts.npy');
    const run = await runFacet(['activations', '--model', model, '--layer', '1', '--input', join(dir, 'input.jsonl'), '--out', out, '--kv', 'f32', '--threads', '1', '--cpu'], join(dir, 'home'));
    expect(run.code, run.stderr).toBe(0);
    const sidecar = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Sidecar;
    expect(sidecar.layer).toBe(1);
    expect(sidecar.samples).toHaveLength(3);
    // it ran as a job of the workspace, so the Jobs page of a facet serve on it showed it
    const jobs = JSON.parse((await runFacet(['jobs', 'list', '--json'], join(dir, 'home'))).stdout) as { kind: string; state: string; done: number; total: number }[];
    expect(jobs).toMatchObject([{ kind: 'activations.capture', state: 'done', done: 6, total: 6 }]);
    const { shape, data } = await readNpy(out);
    const total = sidecar.samples.reduce((sum, sample) => sum + sample.tokens.length, 0);
    expect(shape).toEqual([total, 64]);
    for (const sample of sidecar.samples) {
      expect(sample.t0).toBeGreaterThan(1); // after BOS and the [INST] prefix
      const reference = await referenceResiduals(model, sample.tokens, [1]);
      const rows = data.subarray(sample.offset * 64, (sample.offset + sample.tokens.length) * 64);
      expect(relativeL2(rows, reference.get(1)!)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('reports a prompt longer than the context as PROMPT_TOO_LONG and leaves no partial file', async () => {
    const out = join(dir, 'too-long.npy');
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const run = await runFacet(['activations', '--model', model, '--layer', '0', '--text', long, '--out', out, '--context', '64', '--max-tokens', '100000', '--threads', '1', '--cpu'], join(dir, 'home'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('[PROMPT_TOO_LONG]');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.json`)).toBe(false);
  });

  it('pools over t ≥ t0 into [samples, n_embd] and writes safetensors', async () => {
    const out = join(dir, 'pooled.safetensors');
    const run = await runFacet(['activations', '--model', model, '--layer', '2', '--text', 'Pool these tokens, please.', '--out', out, '--pool', 'mean', '--kv', 'f32', '--threads', '1', '--cpu', '--json'], join(dir, 'home'));
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').pop()!)).toMatchObject({ shape: [1, 64], pool: 'mean' });
    const sidecar = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Sidecar;
    const sample = sidecar.samples[0]!;
    const header = await readSafetensorsHeader(out);
    const pooled = await readSafetensorsTensor(header, 'activations');
    const reference = (await referenceResiduals(model, sample.tokens, [2])).get(2)!;
    const expected = new Float64Array(64);
    const count = sample.tokens.length - sample.t0;
    for (let t = sample.t0; t < sample.tokens.length; t++) for (let i = 0; i < 64; i++) expected[i]! += reference[t * 64 + i]! / count;
    expect(relativeL2(pooled, expected)).toBeLessThanOrEqual(1e-5);
  });

  it('accepts a registered model name', async () => {
    const home = join(dir, 'registry-home');
    const added = await runFacet(['models', 'add', model, '--name', 'tiny-mistral'], home);
    expect(added.code, added.stderr).toBe(0);
    const out = join(dir, 'named.npy');
    const run = await runFacet(['activations', '--model', 'tiny-mistral', '--layer', '0', '--text', 'by name', '--out', out, '--threads', '1', '--cpu'], home);
    expect(run.code, run.stderr).toBe(0);
    expect((await readNpy(out)).shape[1]).toBe(64);
    const missing = await runFacet(['activations', '--model', 'no-such-model', '--layer', '0', '--text', 'x', '--out', out, '--cpu'], home);
    expect(missing.stderr).toContain('MODEL_NOT_FOUND');
  });

  it('--no-template puts t0 right after BOS; a bad layer is a coded error', async () => {
    const out = join(dir, 'raw.npy');
    const run = await runFacet(['activations', '--model', model, '--layer', '0', '--text', 'raw text', '--out', out, '--no-template', '--threads', '1', '--cpu'], join(dir, 'home'));
    expect(run.code, run.stderr).toBe(0);
    const sidecar = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Sidecar;
    expect(sidecar.samples[0]!.t0).toBe(1);
    const bad = await runFacet(['activations', '--model', model, '--layer', '3', '--text', 'x', '--out', join(dir, 'bad.npy'), '--cpu'], join(dir, 'home'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('LAYER_OUT_OF_RANGE');
  });
});
