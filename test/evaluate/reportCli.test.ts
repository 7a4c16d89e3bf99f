import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distinctN, selfBleu } from '../../src/core/evaluate/textDiversity.ts';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

const samples = (file: string): string[] =>
  readFileSync(join(import.meta.dirname, '..', '..', 'resources', 'samples', file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { instruction: string; input: string })
    // the Alpaca layout's user turn: the instruction, then the input after a blank line when there is one
    .map((row) => (row.input.trim() === '' ? row.instruction : `${row.instruction}\n\n${row.input}`));

describe('facet report (demo workspace)', () => {
  const home = tempHome('facet-report-');
  const space = ['--model', 'demo-llama3', '--sae', 'demo-sae-demo-llama3-L1'];
  beforeAll(async () => {
    const demo = await runFacet(['demo', '--threads', '1', '--synthesize', '0'], home.path, { timeoutMs: 300_000 });
    expect(demo.code, demo.stderr).toBe(0);
  }, 300_000);
  afterAll(() => home.remove());

  it('prints the documented JSON per dataset and writes one offline HTML file', async () => {
    const out = join(home.path, 'report.html');
    const coverageRuns = (): number => {
      const db = new Database(join(home.path, 'facet.db'), { readonly: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM coverage_runs').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const runsBefore = coverageRuns();
    const run = await runFacet(['report', ...space, '--datasets', 'demo-anchor,demo-seed', '--threshold', '0,1', '--out', out, '--json'], home.path, { timeoutMs: 300_000 });
    expect(run.code, run.stderr).toBe(0);
    // the report measures FAC (the anchor against itself too) without leaving coverage runs behind
    expect(coverageRuns()).toBe(runsBefore);
    const report = JSON.parse(run.stdout);
    expect(report.anchor).toBe('demo-anchor');
    const [anchor, seed] = report.datasets;
    for (const key of ['name', 'size', 'distinct1', 'distinct2', 'ngramDiversity', 'bigramEntropy', 'selfBleu4', 'compressionRatio', 'embeddingCosineDistance', 'vendi', 'meanTokens', 'coverage']) expect(anchor).toHaveProperty(key);
    expect(anchor.size).toBe(48);
    expect(seed.size).toBe(12);
    // the anchor covers itself; the seed's FAC is the same number facet coverage gives
    expect(anchor.coverage.map((c: { fac: number }) => c.fac)).toEqual([1, 1]);
    const coverage = await runFacet(['coverage', ...space, '--anchor', 'demo-anchor', '--seed', 'demo-seed', '--threshold', '0,1', '--json'], home.path, { timeoutMs: 120_000 });
    expect(seed.coverage.map((c: { threshold: number; fac: number }) => [c.threshold, c.fac])).toEqual(JSON.parse(coverage.stdout).map((r: { threshold: number; fac: number }) => [r.threshold, r.fac]));
    // text metrics over the texts as the sample files hold them
    expect(anchor.distinct1).toBeCloseTo(distinctN(samples('anchor-instructions.jsonl'), 1), 12);
    expect(seed.selfBleu4).toBeCloseTo(selfBleu(samples('seed-instructions.jsonl'), 4).value, 12);
    expect(anchor.vendi).toBeGreaterThanOrEqual(1);
    expect(anchor.vendi).toBeLessThanOrEqual(48);
    // length-matched subsets have the same size in every dataset
    expect(anchor.lengthMatchedCoverage[0].samples).toBe(seed.lengthMatchedCoverage[0].samples);
    expect(existsSync(out)).toBe(true);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('FAC against δ');
    expect(html).not.toMatch(/<script|https?:\/\//);
  }, 300_000);

  it('refuses bad input with one coded line', async () => {
    const missing = await runFacet(['report', ...space, '--datasets', 'demo-anchor,nope'], home.path);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^Error \[NOT_FOUND\]: No dataset named 'nope'/);
    const badOut = await runFacet(['report', ...space, '--datasets', 'demo-anchor', '--out', 'report.txt'], home.path);
    expect(badOut.code).toBe(2);
    expect(badOut.stderr).toMatch(/^Error \[INVALID_ARGUMENT\]: --out writes an HTML file/);
  });
});
