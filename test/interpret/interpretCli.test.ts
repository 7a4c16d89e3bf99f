import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireIndexedSpace } from '../../src/core/interpret/requireIndexedSpace.ts';
import { selectFeatures } from '../../src/core/interpret/selectFeatures.ts';
import { ensureRendererBuilt } from '../support/ensureRendererBuilt.ts';
import { facetBin, runFacet, startFacet, waitForLine, type FacetRun } from '../support/runFacet.ts';
import { indexedWorkspace } from './interpretFixtures.ts';

/** `facet …` with extra environment variables (the endpoint key). */
function runFacetWithEnv(args: string[], home: string, env: Record<string, string>): Promise<FacetRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [facetBin, ...args], { env: { ...process.env, FACET_HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lastJson = (run: FacetRun): any => JSON.parse(run.stdout.trim().split('\n').pop() as string); // eslint-disable-line @typescript-eslint/no-explicit-any

describe('facet features explain / judge / search, coverage --task and the /v1 endpoint (CLI, forged llama3)', () => {
  let home: { path: string; remove(): void };
  let modelPath: string;
  let order: number[];
  const space = () => ['--model', modelPath, '--sae', 'test-sae', '--kv', 'f32', '--cpu'];

  beforeAll(async () => {
    const workspace = await indexedWorkspace('facet-explain-cli-');
    home = workspace.home;
    modelPath = workspace.modelPath;
    const { space: record } = await requireIndexedSpace(workspace.store, home.path, { model: modelPath, sae: 'test-sae', kv: 'f32' });
    order = selectFeatures(workspace.store, record, 'anchor');
    workspace.store.close();
  }, 120_000);
  afterAll(() => home?.remove());

  const explainedRows = (): { feature: number; explainer: string }[] => {
    const db = new Database(join(home.path, 'facet.db'), { readonly: true });
    try {
      return db.prepare('SELECT feature, explainer FROM feature_explanations ORDER BY feature').all() as { feature: number; explainer: string }[];
    } finally {
      db.close();
    }
  };

  it('explains the first features as JSON in the documented shape', async () => {
    const run = await runFacet(['features', 'explain', ...space(), '--limit', '3', '--candidates', '2', '--parallel', '6', '--json'], home.path, { timeoutMs: 300_000 });
    expect(run.code, run.stderr).toBe(0);
    const report = lastJson(run);
    expect(Object.keys(report).sort()).toEqual(['explained', 'explainer', 'skipped', 'space']);
    expect(report.explained.map((row: { feature: number }) => row.feature)).toEqual(order.slice(0, 3));
    for (const row of report.explained) {
      expect(Object.keys(row).sort()).toEqual(['explanation', 'feature', 'score', 'verification']);
      expect(row.verification === null || ['Yes', 'Probably', 'Maybe', 'No'].includes(row.verification)).toBe(true);
    }
  }, 300_000);

  it('a job killed with SIGKILL resumes to exactly the requested features, none lost or done twice', async () => {
    // 2 parallel sequences: rounds of 2 features, each round stored at once
    const child = startFacet(['features', 'explain', ...space(), '--limit', '9', '--candidates', '2', '--parallel', '2'], home.path);
    // wait until the first new round is stored, then kill
    const deadline = Date.now() + 240_000;
    while (explainedRows().length < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    const atKill = explainedRows().length;
    expect(atKill).toBeGreaterThanOrEqual(5);
    expect(atKill).toBeLessThan(9);
    const resumed = await runFacet(['jobs', 'resume'], home.path, { timeoutMs: 300_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const rows = explainedRows();
    expect(rows.map((row) => row.feature)).toEqual([...order.slice(0, 9)].sort((a, b) => a - b));
    expect(new Set(rows.map((row) => row.explainer)).size).toBe(1);
  }, 600_000);

  it('judges for a task and coverage --task counts only the relevant features', async () => {
    const judged = await runFacet(['features', 'judge', ...space(), '--task', 'toxicity', '--limit', '6', '--parallel', '6', '--json'], home.path, { timeoutMs: 300_000 });
    expect(judged.code, judged.stderr).toBe(0);
    const report = lastJson(judged);
    expect(report.task).toBe('toxicity');
    for (const verdict of report.verdicts) expect(['Yes', 'Probably', 'Maybe', 'No']).toContain(verdict.verdict);
    const relevant = report.verdicts.filter((verdict: { verdict: string }) => verdict.verdict !== 'No').length;
    const coverage = await runFacet(['coverage', ...space(), '--anchor', 'anchor', '--seed', 'seed', '--task', 'toxicity', '--json'], home.path, { timeoutMs: 300_000 });
    if (relevant === 0) {
      // nothing relevant: F is empty, FAC is undefined; the run must still say so plainly
      expect(coverage.code === 0 || /relevant/.test(coverage.stderr)).toBe(true);
      return;
    }
    expect(coverage.code, coverage.stderr).toBe(0);
    const result = lastJson(coverage);
    expect(result).toMatchObject({ task: 'toxicity', relevantFeatures: relevant, unjudgedFeatures: order.length - report.verdicts.length });
    expect(result.anchorActive).toBeLessThanOrEqual(relevant);
    const refused = await runFacet(['coverage', ...space(), '--anchor', 'anchor', '--seed', 'seed', '--task', 'sycophancy'], home.path);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Error \[NOT_FOUND\].*facet features judge --task sycophancy/);
  }, 600_000);

  it('searches explanations and refuses bad input with one line each', async () => {
    const search = await runFacet(['features', 'search', 'anything at all', '--json'], home.path);
    expect(search.code, search.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(search.stdout))).toBe(true);
    const noTask = await runFacet(['features', 'judge', ...space()], home.path);
    expect(noTask.code).toBe(2);
    expect(noTask.stderr).toMatch(/^Error \[INVALID_ARGUMENT\]: --task is required/);
    const badRubric = await runFacet(['features', 'judge', ...space(), '--task', join(home.path, 'missing-rubric.txt')], home.path);
    expect(badRubric.code).toBe(1);
    expect(badRubric.stderr).toMatch(/Error \[NOT_FOUND\].*missing-rubric\.txt/);
    const halfEndpoint = await runFacet(['features', 'explain', ...space(), '--endpoint', 'http://127.0.0.1:9/v1'], home.path);
    expect(halfEndpoint.code).toBe(2);
    const refused = await runFacetWithEnv(['features', 'explain', ...space(), '--limit', '1', '--endpoint', 'http://127.0.0.1:9/v1', '--endpoint-model', 'x'], home.path, {});
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/leave this machine/);
    expect(refused.stderr).toMatch(/Error \[ENDPOINT_UNREACHABLE\]/);
  }, 120_000);

  it('facet serve answers /v1/models and /v1/chat/completions with its token, and explain works against it', async () => {
    await ensureRendererBuilt();
    const added = await runFacet(['models', 'add', modelPath, '--name', 'tiny-chat'], home.path);
    expect(added.code, added.stderr).toBe(0);
    const server = startFacet(['serve', '--port', '0'], home.path);
    try {
      const line = await waitForLine(server, /serving at http/);
      const url = new URL(line.slice(line.indexOf('http')).trim());
      const base = `${url.origin}/v1`;
      const token = url.searchParams.get('token')!;
      expect((await fetch(`${base}/models`)).status).toBe(401);
      const models = (await (await fetch(`${base}/models`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data: { id: string }[] };
      expect(models.data.map((model) => model.id)).toContain('tiny-chat');
      const schema = { type: 'object', properties: { answer: { enum: ['yes', 'no'] } }, required: ['answer'], additionalProperties: false };
      const completion = await fetch(`${base}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny-chat', messages: [{ role: 'user', content: 'Is the sky blue?' }], max_tokens: 16, temperature: 0, n: 2, response_format: { type: 'json_schema', json_schema: { name: 'a', schema } } }),
      });
      expect(completion.status).toBe(200);
      const body = (await completion.json()) as { choices: { message: { content: string }; finish_reason: string }[] };
      expect(body.choices).toHaveLength(2);
      for (const choice of body.choices) expect(['yes', 'no']).toContain(JSON.parse(choice.message.content).answer);
      const unknown = await fetch(`${base}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(unknown.status).toBe(404);
      const malformed = await fetch(`${base}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{"model": ' });
      expect(malformed.status).toBe(400);

      const viaEndpoint = await runFacetWithEnv(['features', 'explain', ...space(), '--limit', '2', '--candidates', '1', '--parallel', '2', '--endpoint', base, '--endpoint-model', 'tiny-chat', '--endpoint-key-env', 'FACET_TEST_KEY', '--json'], home.path, { FACET_TEST_KEY: token });
      expect(viaEndpoint.code, viaEndpoint.stderr).toBe(0);
      expect(viaEndpoint.stderr).toMatch(/texts leave this machine/);
      expect(lastJson(viaEndpoint).explained.map((row: { feature: number }) => row.feature)).toEqual(order.slice(0, 2));
      expect(explainedRows().filter((row) => row.explainer.startsWith('endpoint:'))).toHaveLength(2);
      const wrongKey = await runFacetWithEnv(['features', 'explain', ...space(), '--limit', '3', '--candidates', '1', '--endpoint', base, '--endpoint-model', 'tiny-chat', '--endpoint-key-env', 'FACET_TEST_KEY'], home.path, { FACET_TEST_KEY: 'wrong' });
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.stderr).toMatch(/Error \[ENDPOINT_REFUSED\].*HTTP 401/);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.on('close', resolve));
    }
  }, 600_000);
});
