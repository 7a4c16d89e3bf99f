import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFacet, startFacet } from '../support/runFacet.ts';
import { indexedWorkspace } from '../interpret/interpretFixtures.ts';

describe('facet synthesize (CLI, separate processes)', () => {
  let home: { path: string; remove(): void };
  let modelPath: string;
  const args = (limit: number, name: string): string[] => [
    'synthesize', '--model', modelPath, '--sae', 'test-sae', '--anchor', 'anchor', '--seed', 'seed', '--task', 'toxicity',
    '--kv', 'f32', '--limit', String(limit), '--contrast', '3', '--max-new-tokens', '48', '--cpu', '--name', name, '--json',
  ];

  beforeAll(async () => {
    const workspace = await indexedWorkspace('facet-synth-cli-');
    workspace.store.close();
    ({ home, modelPath } = workspace);
  }, 300_000);
  afterAll(() => home?.remove());

  it('prints the documented --json shape; text is exactly the measured sample text', async () => {
    const run = await runFacet(args(1, 'cli-one'), home.path, { timeoutMs: 240_000 });
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['dataset', 'accepted', 'rejected', 'coverage']);
    expect(out['dataset']).toBe('cli-one');
    const accepted = out['accepted'] as { feature: number; activation: number; text: string; record: Record<string, unknown> }[];
    for (const sample of accepted) {
      expect(Object.keys(sample)).toEqual(['feature', 'activation', 'text', 'record']);
      expect(sample.activation).toBeGreaterThan(0);
      expect(sample.record['activation']).toBe(sample.activation);
    }
    for (const rejected of out['rejected'] as Record<string, unknown>[]) expect(Object.keys(rejected)).toEqual(['feature', 'reason', 'activation']);
    const coverage = out['coverage'] as Record<string, unknown>[];
    expect(coverage.map((row) => row['threshold'])).toEqual([0, 0.5, 1, 2]);
    for (const row of coverage) expect(Object.keys(row)).toEqual(['threshold', 'seedFac', 'combinedFac', 'missingShareActivated']);
    const db = new Database(join(home.path, 'facet.db'), { readonly: true });
    const rows = db.prepare<[], { turns: string }>(`SELECT s.turns FROM samples s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = 'cli-one' ORDER BY s.ordinal`).all();
    db.close();
    expect(rows.map((row) => (JSON.parse(row.turns) as { content: string }[]).map((turn) => turn.content).join('\n\n'))).toEqual(accepted.map((sample) => sample.text));
  }, 300_000);

  it('--baseline plain writes the same-budget control of a run: its generator and task, no feature target, lineage per sample, FAC beside the guided run', async () => {
    const db0 = new Database(join(home.path, 'facet.db'), { readonly: true });
    const like = db0.prepare<[], { id: number; report: string }>(`SELECT r.id, r.report FROM synthesis_runs r JOIN datasets d ON d.id = r.dataset_id WHERE d.name = 'cli-one'`).get()!;
    const datasetsBefore = (db0.prepare('SELECT COUNT(*) AS n FROM datasets').get() as { n: number }).n;
    db0.close();
    const guided = JSON.parse(like.report) as { candidates: number; accepted: unknown[]; coverage: { threshold: number; combinedFac: number }[] };

    // bad input first: coded errors, nothing stored
    const noLike = await runFacet(['synthesize', '--baseline', 'plain'], home.path);
    expect(noLike.code).toBe(2);
    expect(noLike.stderr).toMatch(/INVALID_ARGUMENT.*--like RUN/);
    const unknown = await runFacet(['synthesize', '--baseline', 'plain', '--like', '999'], home.path);
    expect(unknown.stderr).toMatch(/NOT_FOUND.*no synthesis run 999/);
    const foreign = await runFacet(['synthesize', '--baseline', 'plain', '--like', String(like.id), '--task', 'toxicity'], home.path);
    expect(foreign.stderr).toMatch(/INVALID_ARGUMENT.*drop --task/);
    const other = await runFacet(['synthesize', '--baseline', 'steered', '--like', String(like.id)], home.path);
    expect(other.stderr).toMatch(/--baseline takes 'plain'/);
    const db1 = new Database(join(home.path, 'facet.db'), { readonly: true });
    expect((db1.prepare('SELECT COUNT(*) AS n FROM datasets').get() as { n: number }).n).toBe(datasetsBefore);
    db1.close();

    const run = await runFacet(['synthesize', '--baseline', 'plain', '--like', String(like.id), '--count', '2', '--name', 'cli-plain', '--json'], home.path, { timeoutMs: 240_000 });
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { dataset: string; like: number; guidedDataset: string; requested: number; budget: number; candidates: number; accepted: { text: string; record: Record<string, unknown> }[]; rejected: Record<string, number>; coverage: Record<string, number | null>[] };
    expect(Object.keys(out)).toEqual(['dataset', 'like', 'guidedDataset', 'requested', 'budget', 'candidates', 'accepted', 'rejected', 'coverage']);
    expect(out).toMatchObject({ dataset: 'cli-plain', like: like.id, guidedDataset: 'cli-one', requested: 2 });
    // the budget: the guided run's candidates per kept sample, times the samples asked for
    expect(out.budget).toBe(Math.max(2, Math.round((guided.candidates / Math.max(1, guided.accepted.length)) * 2)));
    expect(out.candidates).toBeLessThanOrEqual(out.budget);
    expect(out.accepted.length).toBeLessThanOrEqual(2);
    expect(out.accepted.length + Object.values(out.rejected).reduce((a, b) => a + b, 0)).toBe(out.candidates);
    for (const sample of out.accepted) expect(sample.record).toMatchObject({ baseline: 'plain', like: like.id, task: 'toxicity', sampling: { temperature: 0.8, topP: 0.9, maxTokens: 48 } });
    // FAC rows at the guided run's δ values, the guided figures beside them
    expect(out.coverage.map((row) => row['threshold'])).toEqual(guided.coverage.map((row) => row.threshold));
    out.coverage.forEach((row, i) => expect(row['guidedFac']).toBe(guided.coverage[i]!.combinedFac));
    for (const row of out.coverage) expect(row['plainFac']!).toBeGreaterThanOrEqual(row['seedFac']!);
    // lineage stored with each sample; the dataset is indexed in the run's space
    const db = new Database(join(home.path, 'facet.db'), { readonly: true });
    const rows = db.prepare<[], { turns: string; meta: string | null }>(`SELECT s.turns, s.meta FROM samples s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = 'cli-plain' ORDER BY s.ordinal`).all();
    const role = db.prepare<[], { role: string; state: string }>(`SELECT role, state FROM datasets WHERE name = 'cli-plain'`).get();
    db.close();
    expect(role).toEqual({ role: 'synthetic', state: 'ready' });
    expect(rows.map((row) => (JSON.parse(row.meta!) as { synthesis: unknown }).synthesis)).toEqual(out.accepted.map((sample) => sample.record));
  }, 300_000);

  it('facet datasets export writes every dataset in its layout with a card; a layout that cannot hold it is refused', async () => {
    const out = join(home.path, 'exports', 'one');
    const exported = await runFacet(['datasets', 'export', 'cli-one', '--out', out, '--json'], home.path);
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ dataset: 'cli-one', format: 'text', files: { data: join(out, 'train.jsonl'), card: join(out, 'README.md') } });
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('FAC of seed ∪ synthetic');
    const anchorOut = join(home.path, 'exports', 'anchor');
    const anchor = await runFacet(['datasets', 'export', 'anchor', '--out', anchorOut, '--format', 'openai'], home.path);
    expect(anchor.code, anchor.stderr).toBe(0);
    expect(readFileSync(join(anchorOut, 'train.jsonl'), 'utf8').trim().split('\n')).toHaveLength(22);
    expect(readFileSync(join(anchorOut, 'README.md'), 'utf8')).toContain('Imported into Facet from');
    const refused = await runFacet(['datasets', 'export', 'cli-one', '--out', join(home.path, 'exports', 'bad'), '--format', 'caa'], home.path);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/INVALID_ARGUMENT.*does not fit the caa layout/);
    expect(existsSync(join(home.path, 'exports', 'bad', 'train.jsonl'))).toBe(false);
    const missing = await runFacet(['datasets', 'export', 'cli-one'], home.path);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--out DIR is required');
  }, 120_000);

  it('a killed synthesis job resumes with `facet jobs resume`: no feature repeated, none lost', async () => {
    const child = startFacet(args(4, 'cli-resumed'), home.path);
    const dbPath = join(home.path, 'facet.db');
    const finishedAtKill = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        try {
          const db = new Database(dbPath, { readonly: true, fileMustExist: true });
          const row = db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM synthesis_features f JOIN synthesis_runs r ON r.id = f.run_id JOIN datasets d ON d.id = r.dataset_id WHERE d.name = 'cli-resumed'`).get();
          db.close();
          if (row !== undefined && row.n >= 1) {
            clearInterval(timer);
            child.kill('SIGKILL');
            resolve(row.n);
          }
        } catch {
          // tables or run not there yet
        }
      }, 40);
      child.on('close', () => {
        clearInterval(timer);
        reject(new Error('synthesis finished before it could be killed'));
      });
    });
    expect(finishedAtKill).toBeLessThan(4);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const resumed = await runFacet(['jobs', 'resume', '--json'], home.path, { timeoutMs: 240_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const [job] = JSON.parse(resumed.stdout) as { state: string; kind: string; result: { features: number[]; candidates: number; accepted: { feature: number; activation: number }[] } }[];
    expect(job).toMatchObject({ kind: 'synthesis.run', state: 'done' });
    const db = new Database(dbPath, { readonly: true });
    try {
      const run = db.prepare<[], { id: number; state: string; features: string }>(`SELECT r.id, r.state, r.features FROM synthesis_runs r JOIN datasets d ON d.id = r.dataset_id WHERE d.name = 'cli-resumed'`).get()!;
      expect(run.state).toBe('done');
      const features = JSON.parse(run.features) as number[];
      expect(features).toHaveLength(4);
      const finished = db.prepare<[number], { feature: number }>('SELECT feature FROM synthesis_features WHERE run_id = ? ORDER BY feature').all(run.id).map((row) => row.feature);
      expect(finished).toEqual([...features].sort((a, b) => a - b));
      // each feature's candidates were written once: n = 2 step-1 and m = 3 step-2 candidates
      const perFeature = db.prepare<[number], { feature: number; n: number }>('SELECT feature, COUNT(*) AS n FROM synthesis_candidates WHERE run_id = ? GROUP BY feature').all(run.id);
      expect(perFeature.map((row) => row.n)).toEqual([5, 5, 5, 5]);
      expect(job!.result.candidates).toBe(20);
      for (const sample of job!.result.accepted) expect(sample.activation).toBeGreaterThan(0);
      expect(db.prepare<[], { state: string }>(`SELECT state FROM datasets WHERE name = 'cli-resumed'`).get()!.state).toBe('ready');
    } finally {
      db.close();
    }
  }, 400_000);
});
