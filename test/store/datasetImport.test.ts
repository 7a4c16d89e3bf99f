import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FacetEngine } from '../../src/engine/FacetEngine.ts';
import type { DatasetSummary } from '../../src/shared/datasetTypes.ts';
import { sharedDataDir, tempHome } from '../support/tempHome.ts';

let home: { path: string; remove(): void };
let engine: FacetEngine;
beforeEach(() => {
  home = tempHome();
  engine = new FacetEngine({ home: home.path, shell: 'cli' });
});
afterEach(async () => {
  await engine.close();
  home.remove();
});

async function importFile(path: string, options: { name?: string; format?: 'auto' | 'csv' | 'text'; skipInvalid?: boolean } = {}) {
  const job = await engine.call('datasets.import', { path, ...options });
  return engine.jobs.wait(job.id);
}

function tableCounts(): unknown {
  return engine.store.db.prepare('SELECT (SELECT count(*) FROM datasets) AS datasets, (SELECT count(*) FROM samples) AS samples').get();
}

describe('dataset import', () => {
  // Row counts from ../shared/data/README.md; none of these files holds duplicate content.
  const shared: [string, string, number][] = [
    ['hh-rlhf/harmless-base-test.jsonl.gz', 'preference', 2312],
    ['anthropic-evals/survival-instinct.jsonl', 'caa', 953],
    ['anthropic-evals/corrigible-neutral-HHH.jsonl', 'caa', 340],
    ['caa/sycophancy/generate_dataset.json', 'caa', 1000],
    ['caa/sycophancy/test_dataset_ab.json', 'caa', 50],
    ['caa/survival-instinct/generate_dataset.json', 'caa', 903],
    ['caa/survival-instinct/test_dataset_ab.json', 'caa', 50],
    ['ifeval/input_data.jsonl', 'text', 541],
  ];
  it.each(shared)('imports %s as %s with %i samples', async (file, format, rows) => {
    const job = await importFile(join(sharedDataDir, file), { name: file });
    expect(job.state).toBe('done');
    const dataset = job.result as DatasetSummary;
    expect(dataset).toMatchObject({ format, sampleCount: rows, duplicateCount: 0, invalidCount: 0, state: 'ready' });
    const page = await engine.call('datasets.samples', { id: dataset.id, offset: rows - 1, limit: 10 });
    expect(page.samples).toHaveLength(1);
    expect(page.samples[0]?.ordinal).toBe(rows - 1);
  });

  it('keeps the transcript structure of HH-RLHF pairs', async () => {
    const job = await importFile(join(sharedDataDir, 'hh-rlhf/harmless-base-test.jsonl.gz'));
    const dataset = job.result as DatasetSummary;
    const [first] = (await engine.call('datasets.samples', { id: dataset.id, offset: 0, limit: 1 })).samples;
    expect(first?.turns[0]).toEqual({ role: 'user', content: 'what are some pranks with a pen i can do?' });
    expect(first?.pair?.kind).toBe('preference');
  });

  it('refuses a malformed line, naming file, line and field, and leaves the database as it was', async () => {
    await importFile(join(sharedDataDir, 'caa/sycophancy/test_dataset_ab.json'), { name: 'before' });
    const before = tableCounts();
    const path = join(home.path, 'bad.jsonl');
    const good = (i: number) => JSON.stringify({ instruction: `task ${i}`, output: 'ok' });
    const lines = Array.from({ length: 9000 }, (_, i) => good(i));
    lines[8190] = JSON.stringify({ instruction: 42, output: 'x' });
    writeFileSync(path, `${lines.join('\n')}\n`);
    const job = await importFile(path);
    expect(job.state).toBe('failed');
    expect(job.error?.code).toBe('DATASET_LINE_INVALID');
    expect(job.error?.message).toContain(`${path}:8191`);
    expect(job.error?.message).toContain("'instruction'");
    expect(job.error?.details).toMatchObject({ line: 8191, field: 'instruction' });
    // two batches had been written before the bad line; all of it is gone again
    expect(tableCounts()).toEqual(before);
  });

  it('reports JSON syntax errors with their line and imports the rest with skipInvalid', async () => {
    const path = join(home.path, 'syntax.jsonl');
    writeFileSync(path, '{"text": "a"}\n{"text": "b"\n\n{"text": "c"}\n{"text": "a"}\n');
    const failed = await importFile(path);
    expect(failed.error?.message).toMatch(/syntax\.jsonl:2: is not valid JSON/);
    const job = await importFile(path, { skipInvalid: true });
    expect(job.result).toMatchObject({ sampleCount: 2, duplicateCount: 1, invalidCount: 1 });
  });

  it('reads CSV with a header and gzip transparently', async () => {
    const csv = join(home.path, 'rows.csv.gz');
    writeFileSync(csv, gzipSync('text,label\n"hello, world",1\n"multi\nline",0\n'));
    const job = await importFile(csv);
    expect(job.result).toMatchObject({ format: 'text', sampleCount: 2 });
    const samples = (await engine.call('datasets.samples', { id: (job.result as DatasetSummary).id, offset: 0, limit: 5 })).samples;
    expect(samples.map((s) => [s.turns[0]?.content, s.label, s.sourceLine])).toEqual([
      ['hello, world', '1', 2],
      ['multi\nline', '0', 3],
    ]);
  });

  it('ignores a UTF-8 byte-order mark at the start of JSONL, CSV and text files', async () => {
    const jsonl = join(home.path, 'bom.jsonl');
    writeFileSync(jsonl, '\ufeff{"text": "first"}\n{"text": "second"}\n');
    expect((await importFile(jsonl)).result).toMatchObject({ sampleCount: 2 });
    const csv = join(home.path, 'bom.csv');
    writeFileSync(csv, '\ufeff"text","label"\r\n"hello",1\r\n');
    expect((await importFile(csv, { name: 'bom-csv' })).result).toMatchObject({ format: 'text', sampleCount: 1 });
    const text = join(home.path, 'bom.txt');
    writeFileSync(text, '\ufeffplain line\n');
    const job = await importFile(text, { name: 'bom-text' });
    const samples = (await engine.call('datasets.samples', { id: (job.result as DatasetSummary).id, offset: 0, limit: 1 })).samples;
    expect(samples[0]?.turns[0]?.content).toBe('plain line');
  });

  it('names the file when a .gz is not gzip', async () => {
    const path = join(home.path, 'fake.json.gz');
    writeFileSync(path, '[{"text": "not compressed"}]');
    const job = await importFile(path);
    expect(job.error?.message).toContain(path);
    expect(job.error?.message).toMatch(/could not be decompressed/);
  });

  it('refuses an unknown format, a taken name and a missing file at once', async () => {
    const path = join(home.path, 'odd.jsonl');
    writeFileSync(path, '{"foo": 1}\n');
    expect((await importFile(path)).error?.code).toBe('DATASET_FORMAT_UNKNOWN');
    await importFile(join(sharedDataDir, 'caa/sycophancy/test_dataset_ab.json'), { name: 'taken' });
    await expect(engine.call('datasets.import', { path: join(sharedDataDir, 'ifeval/input_data.jsonl'), name: 'taken' })).rejects.toMatchObject({ code: 'DATASET_NAME_TAKEN' });
    await expect(engine.call('datasets.import', { path: join(home.path, 'nope.jsonl') })).rejects.toMatchObject({ code: 'DATASET_FILE_NOT_FOUND' });
    await expect(engine.call('datasets.import', { path: 3 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('cancels an import and removes what it wrote', async () => {
    const path = join(home.path, 'big.jsonl');
    writeFileSync(path, Array.from({ length: 200_000 }, (_, i) => JSON.stringify({ text: `row ${i}` })).join('\n'));
    const job = await engine.call('datasets.import', { path });
    await new Promise<void>((resolve) => {
      const stop = engine.jobs.subscribe((update) => {
        if (update.id === job.id && update.done > 0) {
          stop();
          resolve();
        }
      });
    });
    engine.jobs.cancel(job.id);
    const final = await engine.jobs.wait(job.id);
    expect(final.state).toBe('cancelled');
    expect(tableCounts()).toEqual({ datasets: 0, samples: 0 });
  });
});
