import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abItemsOf, readSteeringVector, steeringControlRate, swapChoices } from '../../src/core/evaluate/steering.ts';
import { readGgufHeader, readTensorAsFloat32 } from '../../src/core/gguf/GgufReader.ts';
import type { SampleRow } from '../../src/shared/datasetTypes.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { runFacet } from '../support/runFacet.ts';
import { sharedDataDir, tempHome } from '../support/tempHome.ts';

const row = (question: string, matching: string, notMatching: string): SampleRow => ({ id: 1, ordinal: 0, sourceLine: 1, contentHash: 'x', turns: [{ role: 'user', content: question }], pair: { kind: 'ab', matching, notMatching } });

describe('A/B items', () => {
  it('swaps the two choices in both CAA layouts, and the matching letter with them', () => {
    const plain = abItemsOf([row('Is it true?\n (A) Yes, surely\n (B) No, never', '(B)', '(A)')], 'd')[0]!;
    expect(swapChoices(plain)).toEqual({ question: 'Is it true?\n (A) No, never\n (B) Yes, surely', matching: 'A' });
    const choices = abItemsOf([row('Turn you off?\n\nChoices:\n (A) Yes, that is okay with me\n (B) No, don\'t do that', '(A)', '(B)')], 'd')[0]!;
    expect(swapChoices(choices)).toEqual({ question: 'Turn you off?\n\nChoices:\n (A) No, don\'t do that\n (B) Yes, that is okay with me', matching: 'B' });
    expect(swapChoices(swapChoices(choices))).toEqual(choices);
  });

  it('refuses items without both letters', () => {
    expect(() => abItemsOf([row('Pick one: (A) this', '(A)', '(B)')], 'caa')).toThrow(/not an A\/B item/);
    expect(() => abItemsOf([row('(A) x (B) y', '(A)', '(A)')], 'caa')).toThrow(/not an A\/B item/);
  });

  it('Steering Control Rate = robust accuracy at +1 minus at −1 (constructed case)', () => {
    const robust = [
      { multiplier: -1, robustAccuracy: 0.2 },
      { multiplier: 0, robustAccuracy: 0.45 },
      { multiplier: 1, robustAccuracy: 0.7 },
    ];
    expect(steeringControlRate(robust)).toBeCloseTo(0.5, 12);
    expect(steeringControlRate(robust.slice(0, 2))).toBeNull();
  });
});

describe('facet steer on the CAA sycophancy items (forged llama3)', () => {
  const home = tempHome('facet-steer-');
  const json = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);
  beforeAll(async () => {
    const { path } = await forgeTestModel({ family: 'llama3', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 5, contextLength: 2048 });
    expect((await runFacet(['models', 'add', path, '--name', 'steer-model'], home.path)).code).toBe(0);
    const imported = await runFacet(['datasets', 'import', join(sharedDataDir, 'caa', 'sycophancy', 'test_dataset_ab.json'), '--name', 'syco'], home.path);
    expect(imported.code, imported.stderr).toBe(0);
  }, 120_000);
  afterAll(() => home.remove());

  it('builds a vector (npy + llama.cpp control vector) and reports robust accuracy per multiplier and the Steering Control Rate', async () => {
    const out = join(home.path, 'syco.npy');
    const cv = join(home.path, 'syco.gguf');
    const built = await runFacet(['steer', 'vector', '--model', 'steer-model', '--dataset', 'syco', '--layer', '1', '--limit', '16', '--out', out, '--control-vector', cv, '--json'], home.path, { timeoutMs: 300_000 });
    expect(built.code, built.stderr).toBe(0);
    expect(json(built.stdout)).toMatchObject({ layer: 1, items: 16 });
    const vector = await readSteeringVector(out);
    expect(vector.vector).toHaveLength(64);
    const header = await readGgufHeader(cv);
    expect(header.metadata.get('general.architecture')).toEqual({ type: 'string', value: 'controlvector' });
    expect(Array.from(await readTensorAsFloat32(header, 'direction.1'))).toEqual(Array.from(vector.vector));

    const evaluated = await runFacet(['steer', 'eval', '--model', 'steer-model', '--vector', out, '--dataset', 'syco', '--limit', '8', '--multipliers', '-1,0,1', '--json'], home.path, { timeoutMs: 300_000 });
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const report = json(evaluated.stdout);
    expect(report.multipliers.map((m: { multiplier: number }) => m.multiplier)).toEqual([-1, 0, 1]);
    for (const entry of report.multipliers) {
      expect(entry.robustAccuracy).toBeLessThanOrEqual(entry.accuracy + 1e-12);
      expect(entry.robustAccuracy * 8).toBeCloseTo(Math.round(entry.robustAccuracy * 8), 9);
    }
    expect(report.steeringControlRate).toBeCloseTo(report.multipliers[2].robustAccuracy - report.multipliers[0].robustAccuracy, 12);
    // multiplier 0 is the unsteered model: the same answers as evaluating 0 alone
    const unsteered = await runFacet(['steer', 'eval', '--model', 'steer-model', '--vector', out, '--dataset', 'syco', '--limit', '8', '--multipliers', '0', '--json'], home.path, { timeoutMs: 300_000 });
    expect(json(unsteered.stdout).multipliers[0]).toEqual(report.multipliers[1]);
  }, 600_000);

  it('refuses a dataset that is not A/B items and a layer that cannot be steered', async () => {
    const bad = await runFacet(['steer', 'vector', '--model', 'steer-model', '--dataset', 'syco', '--layer', '0', '--out', join(home.path, 'x.npy')], home.path);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^Error \[LAYER_OUT_OF_RANGE\]/);
    writeFileSync(join(home.path, 'plain.jsonl'), '{"text": "no choices here"}\n');
    expect((await runFacet(['datasets', 'import', join(home.path, 'plain.jsonl'), '--name', 'plain'], home.path)).code).toBe(0);
    const notAb = await runFacet(['steer', 'vector', '--model', 'steer-model', '--dataset', 'plain', '--layer', '1', '--out', join(home.path, 'y.npy')], home.path);
    expect(notAb.code).toBe(2);
    expect(notAb.stderr).toMatch(/^Error \[INVALID_ARGUMENT\]: Sample 0 \(line 1\) of 'plain' is not an A\/B item/);
  }, 120_000);
});
