import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { runFacet, startFacet, waitForLine } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

/** The model processes `facet serve` (pid) started: node …/modelProcessEntry.ts <home> <model>. */
function modelProcesses(servePid: number): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(servePid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there is no child
  }
  return out.split('\n').filter((line) => line.includes('modelProcessEntry.ts')).map((line) => Number(line.trim().split(/\s+/)[0]));
}

let home: { path: string; remove(): void };
let flag: string;

beforeAll(async () => {
  home = tempHome('facet-model-process-');
  const { path } = await forgeTestModel({ family: 'llama3', layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 11, contextLength: 512 });
  const added = await runFacet(['models', 'add', path, '--name', 'tiny-chat'], home.path);
  expect(added.code, added.stderr).toBe(0);
  // serve needs a UI folder with an index.html; this test only talks to /v1
  const ui = join(home.path, 'ui');
  mkdirSync(ui);
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>Facet</title>');
  process.env['FACET_UI_DIR'] = ui;
  flag = join(home.path, 'abort-once');
  // the model process aborts (SIGABRT, as a GGML_ASSERT does) at the first chat.complete it gets while the flag file exists
  process.env['FACET_MODEL_PROCESS_ABORT_AT'] = `chat.complete@${flag}`;
}, 60_000);
afterAll(() => {
  delete process.env['FACET_UI_DIR'];
  delete process.env['FACET_MODEL_PROCESS_ABORT_AT'];
  home.remove();
});

describe('facet serve runs /v1/chat/completions in a model process it can lose', () => {
  it('an abort there fails that request with MODEL_PROCESS_CRASHED naming the model and call; serve keeps answering and the next request works in a fresh process', async () => {
    const server = startFacet(['serve', '--port', '0'], home.path);
    try {
      const line = await waitForLine(server, /serving at http/);
      const url = new URL(line.slice(line.indexOf('http')).trim());
      const token = url.searchParams.get('token')!;
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const ask = (content: string) =>
        fetch(`${url.origin}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'tiny-chat', messages: [{ role: 'user', content }], max_tokens: 8, temperature: 0 }) });

      // a first request: the model is loaded in a model process, not in serve
      const first = await ask('Hello there');
      expect(first.status, await first.clone().text()).toBe(200);
      const firstBody = (await first.json()) as { choices: { message: { content: string } }[]; usage: { prompt_tokens: number } };
      expect(firstBody.choices).toHaveLength(1);
      expect(firstBody.usage.prompt_tokens).toBeGreaterThan(0);
      const [before] = modelProcesses(server.pid!);
      expect(before).toBeGreaterThan(0);

      // arm the hook: the model process aborts at its next chat.complete
      writeFileSync(flag, '');
      const crashed = await ask('Hello again');
      expect(crashed.status).toBe(500);
      const error = ((await crashed.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('MODEL_PROCESS_CRASHED');
      expect(error.message).toContain('tiny-chat');
      expect(error.message).toContain("'chat.complete'");
      expect(error.message).toContain('SIGABRT');
      expect(existsSync(flag)).toBe(false); // the model process really took the hook and aborted

      // serve is alive and answers
      expect(server.exitCode).toBeNull();
      const models = await fetch(`${url.origin}/v1/models`, { headers });
      expect(models.status).toBe(200);

      // the next request starts a fresh model process and completes, with the same greedy text as before the crash
      const next = await ask('Hello there');
      expect(next.status, await next.clone().text()).toBe(200);
      const nextBody = (await next.json()) as { choices: { message: { content: string } }[] };
      expect(nextBody.choices[0]!.message.content).toBe(firstBody.choices[0]!.message.content);
      const after = modelProcesses(server.pid!);
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before);

      // a model process that dies between requests costs no request at all
      process.kill(after[0]!, 'SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const again = await ask('Hello there');
      expect(again.status, await again.clone().text()).toBe(200);
      expect(modelProcesses(server.pid!)).toHaveLength(1);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.on('close', resolve));
    }
  }, 120_000);
});
