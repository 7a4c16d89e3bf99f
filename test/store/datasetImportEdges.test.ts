import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FacetEngine } from '../../src/engine/FacetEngine.ts';
import type { DatasetSummary } from '../../src/shared/datasetTypes.ts';
import type { JobSnapshot } from '../../src/shared/jobTypes.ts';
import { runFacet, startFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

let home: { path: string; remove(): void };
let engine: FacetEngine;
const savedEnv = { ...process.env };
beforeEach(() => {
  home = tempHome('facet-import-edges-');
  engine = new FacetEngine({ home: home.path, shell: 'cli', resumeInterrupted: false });
});
afterEach(async () => {
  process.env = { ...savedEnv };
  await engine.close();
  home.remove();
});

async function importFile(path: string, options: { name?: string; skipInvalid?: boolean } = {}): Promise<JobSnapshot> {
  const job = await engine.call('datasets.import', { path, ...options });
  return engine.jobs.wait(job.id);
}

function tableCounts(): unknown {
  return engine.store.db.prepare('SELECT (SELECT count(*) FROM datasets) AS datasets, (SELECT count(*) FROM samples) AS samples').get();
}

const row = (i: number): string => JSON.stringify({ text: `row ${i}` });

describe('import edges give coded errors and leave the database as it was', () => {
  it('a line over the record cap is named by line; --skip-invalid skips it', async () => {
    process.env.FACET_MAX_RECORD_MB = '1';
    const path = join(home.path, 'long-line.jsonl');
    writeFileSync(path, [row(1), row(2), JSON.stringify({ text: 'x'.repeat(2 * 1024 * 1024) }), row(4)].join('\n'));
    const failed = await importFile(path);
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'DATASET_RECORD_TOO_LARGE', details: { path, line: 3 } } });
    expect(failed.error!.message).toContain(`${path}:3`);
    expect(failed.error!.message).toContain('FACET_MAX_RECORD_MB');
    expect(tableCounts()).toEqual({ datasets: 0, samples: 0 });
    const skipped = await importFile(path, { skipInvalid: true });
    expect(skipped.result).toMatchObject({ sampleCount: 3, invalidCount: 1, state: 'ready' });
  });

  it('a JSON array element and a CSV row over the cap', async () => {
    process.env.FACET_MAX_RECORD_MB = '1';
    const array = join(home.path, 'big-element.json');
    writeFileSync(array, `[\n${row(1)},\n${JSON.stringify({ text: 'y'.repeat(1_100_000) })}\n]`);
    expect(await importFile(array)).toMatchObject({ state: 'failed', error: { code: 'DATASET_RECORD_TOO_LARGE', details: { line: 3 } } });
    const csv = join(home.path, 'big-row.csv');
    writeFileSync(csv, `text\nshort\n"${'z'.repeat(1_100_000)}"\n`);
    expect(await importFile(csv)).toMatchObject({ state: 'failed', error: { code: 'DATASET_RECORD_TOO_LARGE', details: { line: 3 } } });
    expect(tableCounts()).toEqual({ datasets: 0, samples: 0 });
  });

  it('JSON nested 5,000 levels deep, in a line and in an array', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const jsonl = join(home.path, 'deep.jsonl');
    writeFileSync(jsonl, `${row(1)}\n{"text": "ok", "meta": ${deep}}\n`);
    expect(await importFile(jsonl)).toMatchObject({ state: 'failed', error: { code: 'DATASET_NESTING_TOO_DEEP', details: { line: 2 } } });
    const array = join(home.path, 'deep.json');
    writeFileSync(array, `[\n${row(1)},\n${deep}\n]`);
    expect(await importFile(array)).toMatchObject({ state: 'failed', error: { code: 'DATASET_NESTING_TOO_DEEP', details: { line: 3 } } });
    expect(tableCounts()).toEqual({ datasets: 0, samples: 0 });
  });

  it('a gzip bomb is refused by its expansion ratio, with progress in compressed bytes', async () => {
    const bomb = join(home.path, 'bomb.jsonl.gz');
    const compressed = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x0a), { level: 9 });
    writeFileSync(bomb, compressed);
    const progress: number[] = [];
    engine.jobs.subscribe((job) => progress.push(job.done));
    const started = performance.now();
    const job = await importFile(bomb);
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(job).toMatchObject({ state: 'failed', error: { code: 'DATASET_EXPANSION_TOO_LARGE', details: { path: bomb, compressedBytes: compressed.length } } });
    expect(job.total).toBe(compressed.length);
    expect(Math.max(...progress)).toBeGreaterThan(0);
    expect(tableCounts()).toEqual({ datasets: 0, samples: 0 });
    // a real .gz file well inside the ratio imports, its progress ending at its compressed size
    const fine = join(home.path, 'fine.jsonl.gz');
    const content = gzipSync(Array.from({ length: 5000 }, (_, i) => row(i)).join('\n'));
    writeFileSync(fine, content);
    expect(await importFile(fine)).toMatchObject({ state: 'done', done: content.length, total: content.length, result: { sampleCount: 5000 } });
  });

  it('a folder, /dev/zero and a FIFO are refused at once with their own codes', async () => {
    const folder = join(home.path, 'a-folder');
    mkdirSync(folder);
    await expect(engine.call('datasets.import', { path: folder })).rejects.toMatchObject({ code: 'DATASET_PATH_IS_DIRECTORY', details: { path: folder } });
    await expect(engine.call('datasets.import', { path: '/dev/zero' })).rejects.toMatchObject({ code: 'DATASET_FILE_SPECIAL' });
    const fifo = join(home.path, 'pipe.jsonl');
    execFileSync('mkfifo', [fifo]);
    await expect(engine.call('datasets.import', { path: fifo })).rejects.toMatchObject({ code: 'DATASET_FILE_SPECIAL' });
    expect(tableCounts()).toEqual({ datasets: 0, samples: 0 });
  });

  it('invalid UTF-8 is imported with a warning naming the line; a real U+FFFD is not warned about', async () => {
    const path = join(home.path, 'latin1.jsonl');
    writeFileSync(path, Buffer.concat([Buffer.from(`${row(1)}\n{"text":"caf`), Buffer.from([0xe9]), Buffer.from(`"}\n${row(3)}\n`)]));
    const job = await importFile(path);
    const dataset = job.result as DatasetSummary;
    expect(dataset.sampleCount).toBe(3);
    expect(dataset.warnings).toHaveLength(1);
    expect(dataset.warnings![0]).toContain('line 2');
    const clean = join(home.path, 'replacement-char.jsonl');
    writeFileSync(clean, `${JSON.stringify({ text: 'a \ufffd b' })}\n`);
    expect((await importFile(clean)).result).not.toHaveProperty('warnings');
  });
});

describe('the CLI', () => {
  it('refuses unknown flags on every datasets and jobs subcommand, and a FACET_HOME that is a file', async () => {
    for (const args of [['datasets', 'list', '--bogus'], ['datasets', 'remove', 'x', '--bogus'], ['jobs', 'list', '--bogus'], ['jobs', 'list', 'extra']]) {
      const run = await runFacet(args, home.path);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('INVALID_ARGUMENT');
    }
    const file = join(home.path, 'not-a-folder');
    writeFileSync(file, 'x');
    const run = await runFacet(['datasets', 'list', '--json'], file);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).error).toMatchObject({ code: 'WORKSPACE_INVALID', details: { home: file } });
  });

  it('an import killed before its first batch resumes into its own dataset (no DATASET_NAME_TAKEN)', async () => {
    // 3,000 long rows: the first batch of 4,000 lands only at the end, so the kill comes before it
    const rows = 3000;
    const path = join(home.path, 'slow-first-batch.jsonl');
    writeFileSync(path, Array.from({ length: rows }, (_, i) => JSON.stringify({ text: `${i} ${'w'.repeat(20_000)}` })).join('\n'));
    const child = startFacet(['datasets', 'import', path, '--name', 'early'], home.path);
    const dbPath = join(home.path, 'facet.db');
    const seen = await new Promise<{ state: string; samples: number }>((resolve, reject) => {
      const timer = setInterval(() => {
        try {
          const db = new Database(dbPath, { readonly: true, fileMustExist: true });
          const dataset = db.prepare<[], { state: string; samples: number }>(`SELECT state, sample_count AS samples FROM datasets WHERE name = 'early'`).get();
          db.close();
          if (dataset !== undefined) {
            clearInterval(timer);
            child.kill('SIGKILL');
            resolve(dataset);
          }
        } catch {
          // not created yet
        }
      }, 5);
      child.on('close', () => {
        clearInterval(timer);
        reject(new Error('the import finished before it could be killed'));
      });
    });
    expect(seen).toEqual({ state: 'importing', samples: 0 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const resumed = await runFacet(['jobs', 'resume', '--json'], home.path, { timeoutMs: 120_000 });
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(JSON.parse(resumed.stdout)[0]).toMatchObject({ state: 'done', result: { name: 'early', sampleCount: rows } });
    const listed = await runFacet(['datasets', 'list', '--json'], home.path);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ name: 'early', state: 'ready', sampleCount: rows }]);
  }, 180_000);
});
