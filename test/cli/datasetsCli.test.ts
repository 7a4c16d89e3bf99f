import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { facetBin, runFacet, startFacet, waitForLine } from '../support/runFacet.ts';
import { sharedDataDir, tempHome } from '../support/tempHome.ts';

let home: { path: string; remove(): void };
beforeEach(() => {
  home = tempHome();
});
afterEach(() => home.remove());

describe('facet datasets (spawned CLI)', () => {
  it('imports, lists, shows and removes with --json output', async () => {
    const imported = await runFacet(['datasets', 'import', join(sharedDataDir, 'caa/sycophancy/test_dataset_ab.json'), '--name', 'syco', '--role', 'anchor', '--json'], home.path);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ name: 'syco', role: 'anchor', format: 'caa', sampleCount: 50 });
    const list = await runFacet(['datasets', 'list', '--json'], home.path);
    expect(JSON.parse(list.stdout)).toHaveLength(1);
    const show = await runFacet(['datasets', 'show', 'syco', '--limit', '2'], home.path);
    expect(show.stdout).toContain('syco: 50 samples');
    expect(show.stdout).toContain('matching: (A)');
    const removed = await runFacet(['datasets', 'remove', 'syco'], home.path);
    expect(removed.code).toBe(0);
    expect(JSON.parse((await runFacet(['datasets', 'list', '--json'], home.path)).stdout)).toEqual([]);
  });

  it('changes a role and searches samples (facet datasets role / search)', async () => {
    expect((await runFacet(['datasets', 'import', join(sharedDataDir, 'caa/sycophancy/test_dataset_ab.json'), '--name', 'syco'], home.path)).code).toBe(0);
    const role = await runFacet(['datasets', 'role', 'syco', 'eval'], home.path);
    expect(role.code, role.stderr).toBe(0);
    expect(role.stdout).toContain("'syco' is now an eval set (was seed).");
    expect(JSON.parse((await runFacet(['datasets', 'list', '--json'], home.path)).stdout)[0]).toMatchObject({ role: 'eval' });
    const refused = await runFacet(['datasets', 'role', 'syco', 'synthetic'], home.path);
    expect(refused.code).toBe(2); // INVALID_ARGUMENT
    expect(refused.stderr).toContain('cannot become synthetic');
    const found = await runFacet(['datasets', 'search', 'syco', 'HELLO', '--json', '--limit', '3'], home.path);
    expect(found.code, found.stderr).toBe(0);
    const result = JSON.parse(found.stdout) as { total: number; samples: { turns: { content: string }[] }[] };
    expect(result.total).toBeGreaterThan(3);
    expect(result.samples).toHaveLength(3);
    for (const sample of result.samples) expect(JSON.stringify(sample).toLowerCase()).toContain('hello');
  });

  it('refuses a malformed line with its number and exit code 1, importing nothing', async () => {
    const path = join(home.path, 'broken.jsonl');
    writeFileSync(path, '{"text": "ok"}\n{"text": "fine"}\n{"text": 17}\n');
    const result = await runFacet(['datasets', 'import', path], home.path);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`[DATASET_LINE_INVALID]: ${path}:3: field 'text'`);
    expect(result.stderr).toContain('--skip-invalid');
    const json = await runFacet(['datasets', 'import', path, '--json'], home.path);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'DATASET_LINE_INVALID', details: { line: 3 } } });
    expect(JSON.parse((await runFacet(['datasets', 'list', '--json'], home.path)).stdout)).toEqual([]);
  });

  it('refuses a binary file up front as not text, and words a broken JSON line in the file\'s lines, not the parser\'s', async () => {
    const photo = join(home.path, 'my photo.png');
    writeFileSync(photo, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]));
    const binary = await runFacet(['datasets', 'import', photo, '--json'], home.path);
    expect(binary.code).toBe(1);
    expect(JSON.parse(binary.stdout)).toMatchObject({ error: { code: 'DATASET_NOT_TEXT', message: `${photo} is not a text dataset (it looks binary): choose a JSONL, JSON, CSV or text file.` } });
    // invalid UTF-8 without NUL bytes is binary too
    const latin = join(home.path, 'blob.jsonl');
    writeFileSync(latin, Buffer.from([0xff, 0xfe, 0x41, 0x42, 0x0a]));
    expect(JSON.parse((await runFacet(['datasets', 'import', latin, '--json'], home.path)).stdout)).toMatchObject({ error: { code: 'DATASET_NOT_TEXT' } });
    const broken = join(home.path, 'broken.jsonl');
    writeFileSync(broken, '{"text": "ok"}\n{x}\n');
    const result = await runFacet(['datasets', 'import', broken], home.path);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${broken}:2: is not valid JSON (Expected property name or '}' at character 2 of line 2)`);
    expect(result.stderr).not.toMatch(/line 1 column 2|position 1/);
    expect(JSON.parse((await runFacet(['datasets', 'list', '--json'], home.path)).stdout)).toEqual([]);
  });

  it('explains bad arguments with exit code 2', async () => {
    const result = await runFacet(['datasets', 'import', 'x.jsonl', '--format', 'yaml'], home.path);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Unknown --format 'yaml'");
    expect((await runFacet(['nonsense'], home.path)).code).toBe(2);
    const unknown = await runFacet(['datasets', 'import', 'x.jsonl', '--bogus'], home.path);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("[INVALID_ARGUMENT]: Unknown option '--bogus'. See 'facet datasets --help'.");
  });

  it('resumes an import killed mid-way from its checkpoint, without duplicates', async () => {
    const rows = 150_000;
    const path = join(home.path, 'big.jsonl');
    writeFileSync(path, Array.from({ length: rows }, (_, i) => JSON.stringify({ instruction: `task number ${i}`, output: `answer ${i}` })).join('\n'));
    const child = startFacet(['datasets', 'import', path, '--name', 'big'], home.path);
    const dbPath = join(home.path, 'facet.db');
    // Kill it hard once a few batches are committed.
    const killedAt = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        try {
          const db = new Database(dbPath, { readonly: true, fileMustExist: true });
          const row = db.prepare<[], { done: number }>(`SELECT done FROM jobs WHERE kind = 'dataset.import'`).get();
          db.close();
          if (row !== undefined && row.done >= 12_000) {
            clearInterval(timer);
            child.kill('SIGKILL');
            resolve(row.done);
          }
        } catch {
          // database not created yet
        }
      }, 50);
      child.on('close', () => {
        clearInterval(timer);
        reject(new Error('import finished before it could be killed'));
      });
    });
    expect(killedAt).toBeLessThan(rows);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const jobs = JSON.parse((await runFacet(['jobs', 'list', '--json'], home.path)).stdout);
    expect(jobs[0]).toMatchObject({ kind: 'dataset.import', state: 'running', interrupted: true });
    const resumed = await runFacet(['jobs', 'resume', '--json'], home.path, { timeoutMs: 120_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)[0]).toMatchObject({ state: 'done', result: { name: 'big', sampleCount: rows, duplicateCount: 0 } });
    const db = new Database(join(home.path, 'facet.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n, count(DISTINCT ordinal) AS ordinals, max(ordinal) AS last FROM samples').get()).toEqual({ n: rows, ordinals: rows, last: rows - 1 });
    db.close();
  });

  it('cancels from another process an import that one process is running', async () => {
    const path = join(home.path, 'long.jsonl');
    writeFileSync(path, Array.from({ length: 600_000 }, (_, i) => JSON.stringify({ text: `line ${i} ${'x'.repeat(30)}` })).join('\n'));
    const child = startFacet(['datasets', 'import', path, '--json'], home.path);
    let stdout = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const dbPath = join(home.path, 'facet.db');
    const id = await new Promise<string>((resolve) => {
      const timer = setInterval(() => {
        try {
          const db = new Database(dbPath, { readonly: true, fileMustExist: true });
          const row = db.prepare<[], { id: string; done: number }>(`SELECT id, done FROM jobs`).get();
          db.close();
          if (row !== undefined && row.done > 0) {
            clearInterval(timer);
            resolve(row.id);
          }
        } catch {
          // not created yet
        }
      }, 50);
    });
    const cancel = await runFacet(['jobs', 'cancel', id, '--json'], home.path);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(JSON.parse(cancel.stdout)).toMatchObject({ id, state: 'cancelled' });
    expect(await exited).toBe(130);
    expect(JSON.parse(stdout)).toMatchObject({ error: { code: 'CANCELLED' } });
    const db = new Database(dbPath, { readonly: true });
    expect(db.prepare('SELECT (SELECT count(*) FROM datasets) AS datasets, (SELECT count(*) FROM samples) AS samples').get()).toEqual({ datasets: 0, samples: 0 });
    db.close();
  });

  it('facet serve resumes, at start, an import whose process was killed', async () => {
    const rows = 150_000;
    const path = join(home.path, 'big-serve.jsonl');
    writeFileSync(path, Array.from({ length: rows }, (_, i) => JSON.stringify({ text: `serve row ${i}` })).join('\n'));
    const child = startFacet(['datasets', 'import', path, '--name', 'resumed'], home.path);
    const dbPath = join(home.path, 'facet.db');
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        try {
          const db = new Database(dbPath, { readonly: true, fileMustExist: true });
          const row = db.prepare<[], { done: number }>(`SELECT done FROM jobs`).get();
          db.close();
          if (row !== undefined && row.done >= 8_000) {
            clearInterval(timer);
            child.kill('SIGKILL');
            resolve();
          }
        } catch {
          // not created yet
        }
      }, 50);
      child.on('close', () => {
        clearInterval(timer);
        reject(new Error('import finished before it could be killed'));
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const server = startFacet(['serve', '--port', '0', '--json'], home.path);
    try {
      await waitForLine(server, /"url"/);
      let datasets: { name: string; sampleCount: number; state: string }[] = [];
      for (let waited = 0; waited < 60_000; waited += 250) {
        datasets = JSON.parse((await runFacet(['datasets', 'list', '--json'], home.path)).stdout);
        if (datasets[0]?.state === 'ready') break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(datasets).toEqual([expect.objectContaining({ name: 'resumed', state: 'ready', sampleCount: rows })]);
    } finally {
      server.kill('SIGTERM');
    }
  });

  it('streams: a 100 MB file imports in a 48 MB JavaScript heap', async () => {
    const path = join(home.path, 'hundred-mb.jsonl');
    const rows = 300_000;
    const padding = 'z'.repeat(320);
    writeFileSync(path, Array.from({ length: rows }, (_, i) => JSON.stringify({ text: `${i} ${padding}` })).join('\n'));
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--max-old-space-size=48', facetBin, 'datasets', 'import', path, '--json'], { env: { ...process.env, FACET_HOME: home.path } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ sampleCount: rows });
  });
});
