import type Database from 'better-sqlite3';
import type { SaeConfig, SaeFormat } from './SaeConfig.ts';

/** One registered SAE as the store keeps it. */
export interface SaeRecord {
  id: number;
  name: string;
  hash: string;
  format: SaeFormat;
  architecture: string;
  dIn: number;
  dSae: number;
  k: number | null;
  layer: number | null;
  modelFamily: string | null;
  config: SaeConfig;
  /** Folder of the weight files, relative to the workspace (`saes/<hash>`). */
  storageDir: string;
  sizeBytes: number;
  createdAt: string;
}

interface SaeRow {
  id: number;
  name: string;
  hash: string;
  format: string;
  architecture: string;
  d_in: number;
  d_sae: number;
  k: number | null;
  layer: number | null;
  model_family: string | null;
  config: string;
  storage_dir: string;
  size_bytes: number;
  created_at: string;
}

function toRecord(row: SaeRow): SaeRecord {
  return {
    id: row.id,
    name: row.name,
    hash: row.hash,
    format: row.format as SaeFormat,
    architecture: row.architecture,
    dIn: row.d_in,
    dSae: row.d_sae,
    k: row.k,
    layer: row.layer,
    modelFamily: row.model_family,
    config: JSON.parse(row.config) as SaeConfig,
    storageDir: row.storage_dir,
    sizeBytes: row.size_bytes,
    createdAt: row.created_at,
  };
}

/** Queries on the `saes` table (migration 0003), prepared once. */
export class SaeRepository {
  private readonly insertStatement: Database.Statement;
  private readonly listStatement: Database.Statement<[], SaeRow>;
  private readonly byNameStatement: Database.Statement<[string], SaeRow>;
  private readonly byIdStatement: Database.Statement<[number], SaeRow>;
  private readonly byHashStatement: Database.Statement<[string], SaeRow>;
  private readonly byHashPrefixStatement: Database.Statement<[string], SaeRow>;
  private readonly deleteStatement: Database.Statement<[number]>;

  constructor(db: Database.Database) {
    this.insertStatement = db.prepare(
      `INSERT INTO saes (name, hash, format, architecture, d_in, d_sae, k, layer, model_family, config, storage_dir, size_bytes, created_at)
       VALUES (@name, @hash, @format, @architecture, @dIn, @dSae, @k, @layer, @modelFamily, @config, @storageDir, @sizeBytes, @createdAt)`,
    );
    this.listStatement = db.prepare('SELECT * FROM saes ORDER BY name');
    this.byNameStatement = db.prepare('SELECT * FROM saes WHERE name = ?');
    this.byIdStatement = db.prepare('SELECT * FROM saes WHERE id = ?');
    this.byHashStatement = db.prepare('SELECT * FROM saes WHERE hash = ?');
    this.byHashPrefixStatement = db.prepare("SELECT * FROM saes WHERE hash LIKE ? || '%' ORDER BY hash LIMIT 2");
    this.deleteStatement = db.prepare('DELETE FROM saes WHERE id = ?');
  }

  insert(record: Omit<SaeRecord, 'id'>): SaeRecord {
    const result = this.insertStatement.run({
      name: record.name,
      hash: record.hash,
      format: record.format,
      architecture: record.architecture,
      dIn: record.dIn,
      dSae: record.dSae,
      k: record.k,
      layer: record.layer,
      modelFamily: record.modelFamily,
      config: JSON.stringify(record.config),
      storageDir: record.storageDir,
      sizeBytes: record.sizeBytes,
      createdAt: record.createdAt,
    });
    return { ...record, id: Number(result.lastInsertRowid) };
  }

  list(): SaeRecord[] {
    return this.listStatement.all().map(toRecord);
  }

  byName(name: string): SaeRecord | undefined {
    const row = this.byNameStatement.get(name);
    return row === undefined ? undefined : toRecord(row);
  }

  byId(id: number): SaeRecord | undefined {
    const row = this.byIdStatement.get(id);
    return row === undefined ? undefined : toRecord(row);
  }

  byHash(hash: string): SaeRecord | undefined {
    const row = this.byHashStatement.get(hash);
    return row === undefined ? undefined : toRecord(row);
  }

  /** Rows whose hash starts with `prefix` (at most 2, to detect ambiguity). */
  byHashPrefix(prefix: string): SaeRecord[] {
    return this.byHashPrefixStatement.all(prefix).map(toRecord);
  }

  delete(id: number): void {
    this.deleteStatement.run(id);
  }
}
