import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

let home: { path: string; remove(): void };
beforeEach(() => {
  home = tempHome();
});
afterEach(() => home.remove());

describe('facet demo', () => {
  it('imports the shipped sample datasets and summarises them, idempotently', async () => {
    const first = await runFacet(['demo', '--json'], home.path, { timeoutMs: 300_000 });
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout.trim().split('\n').pop() as string);
    expect(report.datasets).toEqual([
      expect.objectContaining({ name: 'demo-anchor', role: 'anchor', samples: 48 }),
      expect.objectContaining({ name: 'demo-seed', role: 'seed', samples: 12 }),
    ]);
    const again = await runFacet(['demo', '--json'], home.path, { timeoutMs: 300_000 });
    expect(again.code).toBe(0);
    expect(JSON.parse((await runFacet(['datasets', 'list', '--json'], home.path)).stdout)).toHaveLength(2);
  });
});
