import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { JobSnapshot } from '../../src/shared/jobTypes.ts';
import { ensureRendererBuilt } from '../support/ensureRendererBuilt.ts';
import { runFacet, startFacet, waitForLine } from '../support/runFacet.ts';
import { stopOutsideTransaction } from '../support/stopOutsideTransaction.ts';
import { tempHome } from '../support/tempHome.ts';

let home: { path: string; remove(): void };
let server: ChildProcess;
let socket: WebSocket;
const events: JobSnapshot[] = [];
const pending = new Map<number, (message: { ok: boolean; result?: unknown; error?: { code: string; message: string } }) => void>();
let nextId = 1;

/** Calls the serve API over its WebSocket, as the UI does. */
function call<T>(method: string, params: unknown): Promise<T> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, (message) => (message.ok ? resolve(message.result as T) : reject(Object.assign(new Error(message.error?.message), { code: message.error?.code }))));
    socket.send(JSON.stringify({ type: 'request', id, method, params }));
  });
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; job events seen: ${JSON.stringify(events.map((e) => [e.state, e.done, e.cancelRequested, e.dismissedAt !== null]))}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  if (process.env['FACET_UI_DIR'] === undefined) await ensureRendererBuilt();
  home = tempHome('facet-jobs-xproc-');
  server = startFacet(['serve', '--port', '0', '--json'], home.path);
  const url = new URL(JSON.parse(await waitForLine(server, /"url"/)).url);
  socket = new WebSocket(`ws://${url.host}/api/ws?token=${url.searchParams.get('token')}`, { headers: { Origin: `http://${url.host}` } });
  socket.on('message', (data) => {
    const message = JSON.parse(String(data));
    if (message.type === 'response') pending.get(message.id)?.(message);
    if (message.type === 'event' && message.event === 'job.updated') events.push(message.payload as JobSnapshot);
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
}, 120_000);
afterAll(() => {
  socket?.close();
  server?.kill('SIGTERM');
  home?.remove();
});

describe('jobs across processes (facet serve + a CLI on the same workspace)', () => {
  it('serve sees a CLI job appear, progress and finish live; a cancel from serve stops it (cancelling first); serve runs it again; a CLI dismiss reaches serve; a job of a killed CLI turns interrupted and resumes in serve', async () => {
    // 60,000 records: the import writes 15 batches of 4,000, each with its progress
    const file = join(home.path, 'many.jsonl');
    writeFileSync(file, Array.from({ length: 60_000 }, (_, i) => JSON.stringify({ prompt: `Record ${i}: ${'lorem ipsum dolor '.repeat(1 + (i % 5))}`, response: `answer ${i}` })).join('\n'));

    // 1. A finished CLI job appears in serve while it runs, with its progress, and finishes.
    const first = await runFacet(['datasets', 'import', file, '--name', 'many-a'], home.path, { timeoutMs: 120_000 });
    expect(first.code, first.stderr).toBe(0);
    const done = await until('the CLI import to be done in serve', () => events.find((job) => job.kind === 'dataset.import' && job.state === 'done'));
    expect(done).toMatchObject({ done: 60_000, title: expect.stringContaining('many.jsonl'), result: { name: 'many-a', sampleCount: 60_000 } });
    const seen = events.filter((job) => job.id === done.id);
    const midway = seen.filter((job) => job.state === 'running' && job.done > 0 && job.done < 60_000);
    expect(midway.length, 'progress while it ran').toBeGreaterThan(0);
    expect(midway.some((job) => job.rate !== null && job.rate > 0), 'a rate measured from what serve saw').toBe(true);
    expect((await call<JobSnapshot[]>('jobs.list', {})).map((job) => job.id)).toContain(done.id);

    // 2. Cancelled from serve while the CLI runs it: cancelling until the CLI stops, then cancelled.
    const cli = startFacet(['datasets', 'import', file, '--name', 'many-b'], home.path);
    const exited = new Promise<number | null>((resolve) => cli.once('close', resolve));
    const running = await until('the second CLI import to run', () => events.find((job) => job.kind === 'dataset.import' && job.id !== done.id && job.state === 'running'));
    // the CLI stands still (stopped outside a transaction), so the request stays a request
    await stopOutsideTransaction(cli.pid!, home.path);
    const cancelling = await call<JobSnapshot>('jobs.cancel', { id: running.id });
    expect(cancelling).toMatchObject({ state: 'running', cancelRequested: true });
    expect(events.some((job) => job.id === running.id && job.state === 'running' && job.cancelRequested)).toBe(true);
    expect((await runFacet(['jobs', 'list'], home.path)).stdout).toMatch(new RegExp(`${running.id}\\s+dataset\\.import\\s+cancelling…`));
    await expect(call('jobs.dismiss', { id: running.id })).rejects.toMatchObject({ code: 'JOB_NOT_FINISHED' });
    process.kill(cli.pid!, 'SIGCONT');
    expect(await exited).toBe(130);
    const cancelled = await until('the cancel to land', () => events.find((job) => job.id === running.id && job.state === 'cancelled'));
    expect(cancelled.cancelRequested).toBe(false);
    await expect(call('jobs.dismiss', { id: 'no-such-job' })).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });

    // 3. Serve runs the cancelled job again (same parameters), to done.
    const again = await call<JobSnapshot>('jobs.resume', { id: running.id });
    expect(again.state === 'queued' || again.state === 'running').toBe(true);
    const redone = await until('the resumed import to finish in serve', () => events.find((job) => job.id === running.id && job.state === 'done'), 60_000);
    expect(redone.result).toMatchObject({ name: 'many-b', sampleCount: 60_000 });
    await expect(call('jobs.resume', { id: running.id })).rejects.toMatchObject({ code: 'JOB_NOT_RESUMABLE' });

    // 4. Dismissed from the CLI: serve gets the dismissal; `jobs list` hides it unless --all.
    const dismiss = await runFacet(['jobs', 'dismiss', done.id], home.path);
    expect(dismiss.code, dismiss.stderr).toBe(0);
    await until('the dismissal to reach serve', () => events.find((job) => job.id === done.id && job.dismissedAt !== null));
    const list = await runFacet(['jobs', 'list'], home.path);
    expect(list.stdout).not.toContain(done.id);
    expect(list.stdout).toMatch(/\(1 dismissed not shown: facet jobs list --all\)/);
    expect(list.stdout).toMatch(new RegExp(`${running.id}\\s+dataset\\.import\\s+done\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+[\\d.]+ (ms|s)`));
    const all = await runFacet(['jobs', 'list', '--all'], home.path);
    expect(all.stdout).toMatch(new RegExp(`${done.id}\\s+dataset\\.import\\s+done, dismissed`));
    const refused = await runFacet(['jobs', 'dismiss'], home.path);
    expect(refused.code).toBe(2);

    // 5. A CLI killed mid-job: serve turns the job interrupted (its owner died, nothing more is
    // written) and resumes it from its checkpoint.
    const killed = startFacet(['datasets', 'import', file, '--name', 'many-c'], home.path);
    const victim = await until('the third CLI import to make progress', () => events.find((job) => job.kind === 'dataset.import' && job.state === 'running' && job.done > 0 && ![done.id, running.id].includes(job.id)));
    killed.kill('SIGKILL');
    const interrupted = await until('serve to see the job interrupted', () => events.find((job) => job.id === victim.id && job.interrupted), 10_000);
    expect(interrupted.state).toBe('running');
    await call<JobSnapshot>('jobs.resume', { id: victim.id });
    const finished = await until('the interrupted import to finish in serve', () => events.find((job) => job.id === victim.id && job.state === 'done'), 60_000);
    expect(finished.result).toMatchObject({ name: 'many-c', sampleCount: 60_000 });
  }, 180_000);
});
