import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

let home: { path: string; remove(): void };
beforeEach(() => {
  home = tempHome();
});
afterEach(() => home.remove());

describe('facet demo', () => {
  it('runs the whole pipeline on built-in defaults: forge, import, train an SAE, index, coverage', async () => {
    const first = await runFacet(['demo', '--json', '--threads', '1'], home.path, { timeoutMs: 300_000 });
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout.trim().split('\n').pop() as string);
    expect(report).toMatchObject({ model: 'demo-llama3', layer: 1, anchor: { dataset: 'demo-anchor', samples: 48 }, seed: { dataset: 'demo-seed', samples: 12 } });
    expect(report.results.map((r: { threshold: number }) => r.threshold)).toEqual([0, 1, 2]);
    for (const result of report.results) {
      expect(result.covered).toBeLessThanOrEqual(Math.min(result.anchorActive, result.seedActive));
      expect(result.fac).toBeCloseTo(result.covered / result.anchorActive, 12);
      expect(result.missing).toHaveLength(result.anchorActive - result.covered);
    }
    // A narrow seed set of 12 cooking prompts misses part of what 48 varied prompts activate.
    expect(report.results[0].fac).toBeLessThan(1);
    expect(report.topMissing.length).toBeGreaterThan(0);
    expect(report.topMissing[0].spans[0].peakText.length).toBeGreaterThan(0);
    // Everything is registered once; a second run reuses it and gives the same answer.
    const again = await runFacet(['demo', '--json', '--threads', '1'], home.path, { timeoutMs: 300_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout.trim().split('\n').pop() as string).results).toEqual(report.results);
    // anchor, seed and the synthetic set of step 5, each once
    const datasets = JSON.parse((await runFacet(['datasets', 'list', '--json'], home.path)).stdout) as { name: string; role: string }[];
    expect(datasets.map((dataset) => dataset.role).sort()).toEqual(['anchor', 'seed', 'synthetic']);
    // every long step ran as a job of the workspace, so a Jobs page on it showed them live
    const jobs = JSON.parse((await runFacet(['jobs', 'list', '--json'], home.path)).stdout) as { kind: string; state: string }[];
    for (const kind of ['model.add', 'dataset.import', 'sae.train', 'coverage.measure', 'synthesis.run']) expect(jobs.filter((job) => job.kind === kind && job.state === 'done').length, kind).toBeGreaterThan(0);
    expect(jobs.every((job) => job.state === 'done')).toBe(true);
  });
});
