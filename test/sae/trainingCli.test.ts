import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

const words = ['harbor', 'pencil', 'thunder', 'maple', 'eleven', 'silver', 'candle', 'bridge', 'violet', 'engine'];

describe('facet sae train / check (spawned CLI, forged qwen2 model)', () => {
  const home = tempHome('facet-sae-cli-');
  let modelPath: string;
  let dataset: string;

  beforeAll(async () => {
    modelPath = (await forgeTestModel({ family: 'qwen2', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 5, contextLength: 512 })).path;
    dataset = join(home.path, 'train.jsonl');
    writeFileSync(
      dataset,
      Array.from({ length: 60 }, (_, i) => JSON.stringify({ instruction: `Item ${i}: ${Array.from({ length: 2 + (i % 7) }, (_, j) => words[(i * 3 + j * 7) % words.length]).join(' ')}`, output: 'ok' })).join('\n'),
    );
  });
  afterAll(() => home.remove());

  it('trains, registers, resumes nothing twice, and checks the SAE with layer warnings', async () => {
    const common = ['--model', modelPath, '--layer', '1', '--dataset', dataset];
    const train = await runFacet(['sae', 'train', ...common, '--name', 'toy', '--features', '128', '--k', '6', '--k-anneal-from', '24', '--k-anneal-steps', '10', '--epochs', '2', '--batch-tokens', '64', '--lr', '3e-3', '--threads', '1', '--device', 'cpu', '--cpu-model', '--pth', join(home.path, 'TopK6_l2_h128.pth'), '--json'], home.path, { timeoutMs: 120_000 });
    expect(train.code, train.stderr).toBe(0);
    const trained = JSON.parse(train.stdout);
    expect(trained.sae).toMatchObject({ name: 'toy', format: 'facet', architecture: 'topk', dIn: 64, dSae: 128, k: 6, layer: 1 });
    expect(trained.history).toHaveLength(2);
    expect(trained.steps).toBeGreaterThan(10);
    // The run folder is gone once the SAE is registered.
    expect(readdirSync(join(home.path, 'sae-training'))).toEqual([]);

    // The .pth copy imports as the paper's format, layer read from _l2 (blocks from 1) = l_out-1.
    expect(trained.pth).toBe(join(home.path, 'TopK6_l2_h128.pth'));
    const imported = await runFacet(['sae', 'import', trained.pth, '--name', 'toy-pth', '--json'], home.path);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ format: 'paper-pth', architecture: 'topk', k: 6, dIn: 64, dSae: 128, layer: 1 });

    const info = await runFacet(['sae', 'info', 'toy', '--json'], home.path);
    expect(JSON.parse(info.stdout).config).toMatchObject({ tied: true, applyBDecToInput: true, normalisation: { kind: 'none' } });
    expect(JSON.parse(info.stdout).notes.join(' ')).toMatch(/Trained in Facet/);

    const check = await runFacet(['sae', 'check', '--sae', 'toy', '--model', modelPath, '--dataset', dataset, '--threads', '1', '--cpu-model', '--json'], home.path);
    expect(check.code, check.stderr).toBe(0);
    const report = JSON.parse(check.stdout);
    expect(report.layer).toBe(1);
    expect(report.metrics.l0).toBeGreaterThan(0);
    expect(report.metrics.l0).toBeLessThanOrEqual(6);
    expect(report.metrics.fractionOfVarianceUnexplained).toBeLessThan(1);
    expect(report.warnings.map((w: { code: string }) => w.code)).not.toContain('LAYER_MISMATCH');
    // training and the check ran as jobs of the workspace (a facet serve on it shows them)
    const jobs = JSON.parse((await runFacet(['jobs', 'list', '--json'], home.path)).stdout) as { kind: string; state: string }[];
    expect(jobs.map((job) => [job.kind, job.state]).reverse()).toEqual([['sae.train', 'done'], ['sae.check', 'done']]);

    const wrongLayer = await runFacet(['sae', 'check', '--sae', 'toy', '--model', modelPath, '--dataset', dataset, '--layer', '0', '--threads', '1', '--cpu-model'], home.path);
    expect(wrongLayer.code, wrongLayer.stderr).toBe(0);
    expect(wrongLayer.stdout).toMatch(/LAYER_MISMATCH: The SAE was trained on l_out-1/);
    expect(wrongLayer.stdout).toMatch(/FVU\s+\d/);

    const again = await runFacet(['sae', 'train', ...common, '--name', 'toy'], home.path);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already registered/);
  });

  it('refuses a layer the model does not have and an SAE of another width', async () => {
    const badLayer = await runFacet(['sae', 'train', '--model', modelPath, '--layer', '3', '--dataset', dataset, '--features', '64', '--k', '4', '--cpu-model', '--threads', '1', '--json'], home.path);
    expect(badLayer.code).toBe(1);
    expect(JSON.parse(badLayer.stdout).error.code).toBe('LAYER_OUT_OF_RANGE');
    const other = (await forgeTestModel({ family: 'llama3', layers: 2, dim: 32, heads: 4, kvHeads: 2, seed: 3, contextLength: 256 })).path;
    const mismatch = await runFacet(['sae', 'check', '--sae', 'toy', '--model', other, '--dataset', dataset, '--cpu-model', '--threads', '1'], home.path);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stdout).toMatch(/ERROR D_IN_MISMATCH: The SAE reads vectors of width 64 but the model's residual stream has width 32/);
  });
});
