import { writeFile } from 'node:fs/promises';
import { parquetWriteBuffer } from 'hyparquet-writer';

type ColumnType = 'STRING' | 'DOUBLE' | 'BOOLEAN' | 'JSON';

/**
 * Records as one Parquet file (hyparquet-writer): a column per top-level key, in first-seen order.
 * A column whose values are all strings is STRING, all numbers DOUBLE, all booleans BOOLEAN;
 * anything else (objects, arrays, mixed) is JSON text. A record without the key holds null.
 */
export async function writeParquetRecords(path: string, records: readonly Record<string, unknown>[]): Promise<{ columns: { name: string; type: ColumnType }[] }> {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const record of records) {
    for (const key of Object.keys(record)) {
      if (!seen.has(key)) {
        seen.add(key);
        names.push(key);
      }
    }
  }
  const columns = names.map((name) => {
    const values = records.map((record) => (Object.hasOwn(record, name) ? record[name] : null));
    const present = values.filter((value) => value !== null && value !== undefined);
    const type: ColumnType = present.every((value) => typeof value === 'string') ? 'STRING' : present.every((value) => typeof value === 'number') ? 'DOUBLE' : present.every((value) => typeof value === 'boolean') ? 'BOOLEAN' : 'JSON';
    const data = type === 'JSON' ? values.map((value) => (value === null || value === undefined ? null : value)) : values.map((value) => value ?? null);
    return { name, type, data };
  });
  const buffer = parquetWriteBuffer({ columnData: columns.map(({ name, type, data }) => ({ name, type, data: data as never[] })) });
  await writeFile(path, Buffer.from(buffer));
  return { columns: columns.map(({ name, type }) => ({ name, type })) };
}
