import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accuracy, auprc, auroc } from '../../src/core/evaluate/probeMetrics.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

const topics = { 1: ['The river flooded the old town', 'Storm waters rose over the bridge', 'Heavy rain filled the valley'], 0: ['I baked fresh bread this morning', 'She painted the kitchen blue', 'We sang songs by the fire'] } as const;

function labelled(count: number, offset: number): string {
  return Array.from({ length: count }, (_, i) => {
    const label = (i % 2) as 0 | 1;
    return JSON.stringify({ text: `${topics[label][(i + offset) % 3]} (${i + offset}).`, label });
  }).join('\n');
}

describe('facet probe (head-only, forged llama3)', () => {
  const home = tempHome('facet-probe-');
  const json = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);
  beforeAll(async () => {
    const { path } = await forgeTestModel({ family: 'llama3', layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 3, contextLength: 2048 });
    const add = await runFacet(['models', 'add', path, '--name', 'probe-model'], home.path);
    expect(add.code, add.stderr).toBe(0);
    const files: Record<string, string> = {
      'train.jsonl': labelled(24, 0),
      'more.jsonl': labelled(12, 100),
      'eval.jsonl': labelled(12, 50),
      'ones.jsonl': Array.from({ length: 4 }, (_, i) => JSON.stringify({ text: `only positive ${i}`, label: 1 })).join('\n'),
      'nolabel.jsonl': Array.from({ length: 4 }, (_, i) => JSON.stringify({ text: `no label ${i}` })).join('\n'),
      'pairs.jsonl': Array.from({ length: 10 }, (_, i) => JSON.stringify({ prompt: `Question ${i}: where is the river?`, chosen: `The river is north of the town, ${i}.`, rejected: `I baked bread ${i}.` })).join('\n'),
    };
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(join(home.path, name), `${content}\n`);
      const imported = await runFacet(['datasets', 'import', join(home.path, name), '--name', name.replace('.jsonl', '')], home.path);
      expect(imported.code, imported.stderr).toBe(0);
    }
  }, 300_000);
  afterAll(() => home.remove());

  it('classify: reports AUPRC, AUROC and accuracy that the exported scores reproduce, per seed and side by side', async () => {
    const run = await runFacet(['probe', 'classify', '--model', 'probe-model', '--train', 'train', '--train', 'train,more', '--eval', 'eval', '--json'], home.path, { timeoutMs: 300_000 });
    expect(run.code, run.stderr).toBe(0);
    const report = json(run.stdout);
    expect(report.scores).toHaveLength(12);
    const scores = report.scores.map((s: { score: number }) => s.score);
    const labels = report.scores.map((s: { label: number }) => s.label);
    expect(report.auprc).toBeCloseTo(auprc(scores, labels)!, 12);
    expect(report.auroc).toBeCloseTo(auroc(scores, labels)!, 12);
    expect(report.accuracy).toBeCloseTo(accuracy(scores, labels), 12);
    expect(report.runs.map((r: { train: string[]; trainSamples: number }) => [r.train, r.trainSamples])).toEqual([[['train'], 24], [['train', 'more'], 36]]);
    for (const runEntry of report.runs) expect(runEntry.perSeed.map((s: { seed: number }) => s.seed)).toEqual([0, 1, 2]);
    expect(report.runs[0].perSeed[0].auroc).toBe(report.auroc);
  }, 300_000);

  it('reward: pairwise accuracy of a Bradley–Terry head on preference pairs', async () => {
    const run = await runFacet(['probe', 'reward', '--model', 'probe-model', '--train', 'pairs', '--eval', 'pairs', '--seeds', '0,1', '--json'], home.path, { timeoutMs: 300_000 });
    expect(run.code, run.stderr).toBe(0);
    const report = json(run.stdout);
    expect(report.kind).toBe('reward');
    expect(report.scores).toHaveLength(10);
    expect(report.accuracy).toBe(report.scores.filter((s: { score: number }) => s.score > 0).length / 10);
    expect(report.runs[0].perSeed).toHaveLength(2);
  }, 300_000);

  it('refuses single-class and unlabelled sets, and pairs where there are none, with one coded line', async () => {
    const single = await runFacet(['probe', 'classify', '--model', 'probe-model', '--train', 'ones', '--eval', 'eval'], home.path);
    expect(single.code).toBe(2);
    expect(single.stderr).toMatch(/^Error \[INVALID_ARGUMENT\]: The training set ones has only label 1/);
    const unlabelled = await runFacet(['probe', 'classify', '--model', 'probe-model', '--train', 'nolabel', '--eval', 'eval'], home.path);
    expect(unlabelled.code).toBe(2);
    expect(unlabelled.stderr).toMatch(/no 0\/1 label in 'label'/);
    const notPairs = await runFacet(['probe', 'reward', '--model', 'probe-model', '--train', 'train', '--eval', 'pairs'], home.path);
    expect(notPairs.code).toBe(2);
    expect(notPairs.stderr).toMatch(/is not a preference pair/);
  }, 120_000);
});
