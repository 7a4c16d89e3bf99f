import type { Migration } from '../Migration.ts';

/**
 * Cross-model feature matching.
 *
 * - `compare_runs`: one matching of feature space A against space B over the same datasets: the
 *   request key (spaces, datasets, method, parameters; unique, so the same request is answered
 *   from here), the datasets with their index in each space, and the summary (counts, mutual
 *   pairs, SVCCA/RSA with their nulls) once `done`.
 * - `compare_partners`: per supported feature a of A, its best partners b in B by Pearson
 *   correlation of per-sample g (rank 0 = best), and whether (a, b) is a mutual-best pair.
 */
export const migration0007Compare: Migration = {
  version: 7,
  description: 'cross-model feature matching runs and partners',
  up(db) {
    db.exec(`
      CREATE TABLE compare_runs (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        job_id TEXT,
        space_a_id INTEGER NOT NULL REFERENCES feature_spaces(id) ON DELETE CASCADE,
        space_b_id INTEGER NOT NULL REFERENCES feature_spaces(id) ON DELETE CASCADE,
        datasets TEXT NOT NULL,
        method TEXT NOT NULL,
        params TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'done')),
        summary TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT
      ) STRICT;

      CREATE TABLE compare_partners (
        run_id INTEGER NOT NULL REFERENCES compare_runs(id) ON DELETE CASCADE,
        a INTEGER NOT NULL CHECK (a >= 0),
        rank INTEGER NOT NULL CHECK (rank >= 0),
        b INTEGER NOT NULL CHECK (b >= 0),
        correlation REAL NOT NULL,
        mutual INTEGER NOT NULL CHECK (mutual IN (0, 1)),
        PRIMARY KEY (run_id, a, rank)
      ) STRICT;
    `);
  },
};
