import type Database from 'better-sqlite3';
import type { DatasetFormat, DatasetRole, DatasetSummary, NormalizedSample, SampleRow } from '../../shared/datasetTypes.ts';

interface DatasetRowDb {
  id: number;
  name: string;
  role: DatasetRole;
  format: DatasetFormat;
  source_path: string;
  state: 'importing' | 'ready';
  sample_count: number;
  duplicate_count: number;
  invalid_count: number;
  created_at: string;
}

interface SampleRowDb {
  id: number;
  ordinal: number;
  source_line: number;
  content_hash: string;
  turns: string;
  label: string | null;
  pair: string | null;
  meta: string | null;
}

function toSummary(row: DatasetRowDb): DatasetSummary {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    format: row.format,
    sourcePath: row.source_path,
    state: row.state,
    sampleCount: row.sample_count,
    duplicateCount: row.duplicate_count,
    invalidCount: row.invalid_count,
    createdAt: row.created_at,
  };
}

function toSample(row: SampleRowDb): SampleRow {
  const sample: SampleRow = { id: row.id, ordinal: row.ordinal, sourceLine: row.source_line, contentHash: row.content_hash, turns: JSON.parse(row.turns) };
  if (row.label !== null) sample.label = row.label;
  if (row.pair !== null) sample.pair = JSON.parse(row.pair);
  if (row.meta !== null) sample.meta = JSON.parse(row.meta);
  return sample;
}

/** SQL for datasets and samples, prepared once. */
export class DatasetRepository {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(db: Database.Database) {
    this.db = db;
    this.statements = {
      create: db.prepare<[string, DatasetRole, DatasetFormat, string, string]>(
        `INSERT INTO datasets (name, role, format, source_path, state, created_at) VALUES (?, ?, ?, ?, 'importing', ?)`,
      ),
      byId: db.prepare<[number], DatasetRowDb>(`SELECT * FROM datasets WHERE id = ?`),
      byName: db.prepare<[string], DatasetRowDb>(`SELECT * FROM datasets WHERE name = ?`),
      list: db.prepare<[], DatasetRowDb>(`SELECT * FROM datasets ORDER BY id`),
      insertSample: db.prepare<[number, number, number, string, string, string | null, string | null, string | null]>(
        `INSERT OR IGNORE INTO samples (dataset_id, ordinal, source_line, content_hash, turns, label, pair, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      counts: db.prepare<[number, number, number, DatasetFormat, number]>(
        `UPDATE datasets SET sample_count = ?, duplicate_count = ?, invalid_count = ?, format = ? WHERE id = ?`,
      ),
      markReady: db.prepare<[number]>(`UPDATE datasets SET state = 'ready' WHERE id = ?`),
      remove: db.prepare<[number]>(`DELETE FROM datasets WHERE id = ?`),
      samples: db.prepare<[number, number, number], SampleRowDb>(
        `SELECT id, ordinal, source_line, content_hash, turns, label, pair, meta FROM samples WHERE dataset_id = ? AND ordinal >= ? ORDER BY ordinal LIMIT ?`,
      ),
      setRole: db.prepare<[DatasetRole, number]>(`UPDATE datasets SET role = ? WHERE id = ?`),
      searchCount: db.prepare<[number, string, string, string], { n: number }>(
        `SELECT count(*) AS n FROM samples WHERE dataset_id = ? AND (turns LIKE ? ESCAPE '\\' OR coalesce(pair, '') LIKE ? ESCAPE '\\' OR coalesce(label, '') LIKE ? ESCAPE '\\')`,
      ),
      search: db.prepare<[number, string, string, string, number, number], SampleRowDb>(
        `SELECT id, ordinal, source_line, content_hash, turns, label, pair, meta FROM samples
         WHERE dataset_id = ? AND (turns LIKE ? ESCAPE '\\' OR coalesce(pair, '') LIKE ? ESCAPE '\\' OR coalesce(label, '') LIKE ? ESCAPE '\\')
         ORDER BY ordinal LIMIT ? OFFSET ?`,
      ),
      sampleByOrdinal: db.prepare<[number, number], SampleRowDb>(
        `SELECT id, ordinal, source_line, content_hash, turns, label, pair, meta FROM samples WHERE dataset_id = ? AND ordinal = ?`,
      ),
    };
  }

  create(name: string, role: DatasetRole, format: DatasetFormat, sourcePath: string): number {
    return Number(this.statements.create.run(name, role, format, sourcePath, new Date().toISOString()).lastInsertRowid);
  }

  get(id: number): DatasetSummary | undefined {
    const row = this.statements.byId.get(id);
    return row === undefined ? undefined : toSummary(row);
  }

  findByName(name: string): DatasetSummary | undefined {
    const row = this.statements.byName.get(name);
    return row === undefined ? undefined : toSummary(row);
  }

  list(): DatasetSummary[] {
    return this.statements.list.all().map(toSummary);
  }

  /** Inserts one sample; returns false when the dataset already holds the same content. */
  insertSample(datasetId: number, ordinal: number, sourceLine: number, contentHash: string, sample: NormalizedSample): boolean {
    const result = this.statements.insertSample.run(
      datasetId,
      ordinal,
      sourceLine,
      contentHash,
      JSON.stringify(sample.turns),
      sample.label ?? null,
      sample.pair === undefined ? null : JSON.stringify(sample.pair),
      sample.meta === undefined ? null : JSON.stringify(sample.meta),
    );
    return result.changes === 1;
  }

  updateCounts(datasetId: number, samples: number, duplicates: number, invalid: number, format: DatasetFormat): void {
    this.statements.counts.run(samples, duplicates, invalid, format, datasetId);
  }

  markReady(datasetId: number): void {
    this.statements.markReady.run(datasetId);
  }

  /** Deletes a dataset and (by cascade) its samples. */
  remove(datasetId: number): boolean {
    return this.statements.remove.run(datasetId).changes === 1;
  }

  /** Samples in file order from `offset` (0-based ordinal). */
  samples(datasetId: number, offset: number, limit: number): SampleRow[] {
    return this.statements.samples.all(datasetId, offset, limit).map(toSample);
  }

  setRole(datasetId: number, role: DatasetRole): void {
    this.statements.setRole.run(role, datasetId);
  }

  /**
   * Samples whose text (turns, pair sides or answers, label) contains `query`, in file order,
   * with the total. Case-insensitive for ASCII letters (SQLite LIKE); the text is matched as it
   * is stored (JSON), so quotes, backslashes and line breaks in a query match their JSON escapes.
   */
  search(datasetId: number, query: string, offset: number, limit: number): { total: number; samples: SampleRow[] } {
    const escaped = JSON.stringify(query).slice(1, -1).replace(/[\\%_]/g, (character) => `\\${character}`);
    const pattern = `%${escaped}%`;
    const total = this.statements.searchCount.get(datasetId, pattern, pattern, pattern)?.n ?? 0;
    return { total, samples: this.statements.search.all(datasetId, pattern, pattern, pattern, limit, offset).map(toSample) };
  }

  sample(datasetId: number, ordinal: number): SampleRow | undefined {
    const row = this.statements.sampleByOrdinal.get(datasetId, ordinal);
    return row === undefined ? undefined : toSample(row);
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }
}
