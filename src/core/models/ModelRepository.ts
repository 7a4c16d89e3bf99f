import type Database from 'better-sqlite3';
import type { ModelRecord, NewModelRecord } from './ModelRecord.ts';

interface ModelRow {
  id: number;
  name: string;
  path: string;
  content_hash: string;
  size_bytes: number;
  architecture: string;
  block_count: number | null;
  embedding_length: number | null;
  head_count: number | null;
  head_count_kv: number | null;
  context_length: number | null;
  vocab_size: number | null;
  file_type: number | null;
  quantization: string;
  tokenizer_model: string | null;
  tokenizer_pre: string | null;
  chat_template: string | null;
  source: string;
  added_at: string;
}

function toRecord(row: ModelRow): ModelRecord {
  return {
    id: row.id,
    name: row.name,
    path: row.path,
    contentHash: row.content_hash,
    sizeBytes: row.size_bytes,
    architecture: row.architecture,
    blockCount: row.block_count,
    embeddingLength: row.embedding_length,
    headCount: row.head_count,
    headCountKv: row.head_count_kv,
    contextLength: row.context_length,
    vocabSize: row.vocab_size,
    fileType: row.file_type,
    quantization: row.quantization,
    tokenizerModel: row.tokenizer_model,
    tokenizerPre: row.tokenizer_pre,
    chatTemplate: row.chat_template,
    source: row.source,
    addedAt: row.added_at,
  };
}

/** Queries on the `models` table; statements prepared once. */
export class ModelRepository {
  private readonly insertStatement: Database.Statement;
  private readonly byNameStatement: Database.Statement;
  private readonly byHashAndPathStatement: Database.Statement;
  private readonly listStatement: Database.Statement;
  private readonly deleteStatement: Database.Statement;

  constructor(db: Database.Database) {
    this.insertStatement = db.prepare(`
      INSERT INTO models (name, path, content_hash, size_bytes, architecture, block_count, embedding_length, head_count, head_count_kv,
        context_length, vocab_size, file_type, quantization, tokenizer_model, tokenizer_pre, chat_template, source, added_at)
      VALUES (@name, @path, @contentHash, @sizeBytes, @architecture, @blockCount, @embeddingLength, @headCount, @headCountKv,
        @contextLength, @vocabSize, @fileType, @quantization, @tokenizerModel, @tokenizerPre, @chatTemplate, @source, @addedAt)`);
    this.byNameStatement = db.prepare('SELECT * FROM models WHERE name = ?');
    this.byHashAndPathStatement = db.prepare('SELECT * FROM models WHERE content_hash = ? AND path = ?');
    this.listStatement = db.prepare('SELECT * FROM models ORDER BY name');
    this.deleteStatement = db.prepare('DELETE FROM models WHERE name = ?');
  }

  insert(model: NewModelRecord): ModelRecord {
    const result = this.insertStatement.run(model);
    return { ...model, id: Number(result.lastInsertRowid) };
  }

  findByName(name: string): ModelRecord | undefined {
    const row = this.byNameStatement.get(name) as ModelRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  findByHashAndPath(contentHash: string, path: string): ModelRecord | undefined {
    const row = this.byHashAndPathStatement.get(contentHash, path) as ModelRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  list(): ModelRecord[] {
    return (this.listStatement.all() as ModelRow[]).map(toRecord);
  }

  /** True if a model of that name existed. */
  deleteByName(name: string): boolean {
    return this.deleteStatement.run(name).changes > 0;
  }
}
