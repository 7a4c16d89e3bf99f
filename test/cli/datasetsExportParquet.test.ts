import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { afterAll, describe, expect, it } from 'vitest';
import { runFacet } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

/** A JSON column may come back as text or as the parsed value; compare values, not spellings. */
const normal = (value: unknown): unknown => (typeof value === 'string' && /^[[{]/.test(value) ? JSON.parse(value) : value);

describe('facet datasets export --parquet', () => {
  const home = tempHome('facet-parquet-');
  afterAll(() => home.remove());

  it('writes train.parquet with the same records as train.jsonl, read back by a second reader (hyparquet)', async () => {
    const source = join(home.path, 'chat.jsonl');
    writeFileSync(
      source,
      [
        { messages: [{ role: 'user', content: 'Hello there' }, { role: 'assistant', content: 'Hi! How can I help?' }] },
        { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Zählen Sie bis drei 🙂' }, { role: 'assistant', content: 'Eins, zwei, drei.' }] },
      ]
        .map((row) => JSON.stringify(row))
        .join('\n'),
    );
    expect((await runFacet(['datasets', 'import', source, '--name', 'chat'], home.path)).code).toBe(0);
    const out = join(home.path, 'export');
    const run = await runFacet(['datasets', 'export', 'chat', '--out', out, '--parquet', '--json'], home.path);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.files.parquet).toBe(join(out, 'train.parquet'));
    const jsonl = readFileSync(join(out, 'train.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const file = await asyncBufferFromFile(result.files.parquet);
    const metadata = await parquetMetadataAsync(file);
    expect(Number(metadata.num_rows)).toBe(jsonl.length);
    const rows = (await parquetReadObjects({ file })) as Record<string, unknown>[];
    expect(rows.map((row) => Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null && value !== undefined).map(([key, value]) => [key, normal(value)])))).toEqual(jsonl);
  });
});
