import type { Migration } from '../Migration.ts';

/** The model registry: GGUF files by name, with the metadata read at registration. */
export const migration0002Models: Migration = {
  version: 2,
  description: 'model registry',
  up(db) {
    db.exec(`
      CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        architecture TEXT NOT NULL,
        block_count INTEGER,
        embedding_length INTEGER,
        head_count INTEGER,
        head_count_kv INTEGER,
        context_length INTEGER,
        vocab_size INTEGER,
        file_type INTEGER,
        quantization TEXT NOT NULL,
        tokenizer_model TEXT,
        tokenizer_pre TEXT,
        chat_template TEXT,
        source TEXT NOT NULL,
        added_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX models_by_hash ON models(content_hash);
    `);
  },
};
