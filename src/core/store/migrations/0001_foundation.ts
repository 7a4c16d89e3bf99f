import type { Migration } from '../Migration.ts';

/** Datasets, their normalised samples, and resumable jobs. */
export const migration0001Foundation: Migration = {
  version: 1,
  description: 'datasets, samples and jobs',
  up(db) {
    db.exec(`
      CREATE TABLE datasets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('seed', 'anchor', 'eval')),
        format TEXT NOT NULL,
        source_path TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('importing', 'ready')),
        sample_count INTEGER NOT NULL DEFAULT 0,
        duplicate_count INTEGER NOT NULL DEFAULT 0,
        invalid_count INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        source_line INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        turns TEXT NOT NULL,
        label TEXT,
        pair TEXT,
        meta TEXT,
        UNIQUE (dataset_id, content_hash),
        UNIQUE (dataset_id, ordinal)
      ) STRICT;

      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        params TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER,
        checkpoint TEXT,
        result TEXT,
        error TEXT,
        owner_pid INTEGER,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX jobs_by_state ON jobs(state);
    `);
  },
};
