import type { Migration } from '../Migration.ts';

/**
 * Registered SAEs. Weights live as files under `<FACET_HOME>/saes/<hash>/` (`storage_dir`,
 * relative to the workspace); the row keeps the full SaeConfig as JSON plus the columns lists
 * and filters need.
 */
export const migration0003Saes: Migration = {
  version: 3,
  description: 'SAE registry',
  up(db) {
    db.exec(`
      CREATE TABLE saes (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        hash TEXT NOT NULL UNIQUE,
        format TEXT NOT NULL,
        architecture TEXT NOT NULL,
        d_in INTEGER NOT NULL CHECK (d_in > 0),
        d_sae INTEGER NOT NULL CHECK (d_sae > 0),
        k INTEGER,
        layer INTEGER,
        model_family TEXT,
        config TEXT NOT NULL,
        storage_dir TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
    `);
  },
};
