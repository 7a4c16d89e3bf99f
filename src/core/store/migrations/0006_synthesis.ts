import type { Migration } from '../Migration.ts';

const oldRoleCheck = "CHECK (role IN ('seed', 'anchor', 'eval'))";
const newRoleCheck = "CHECK (role IN ('seed', 'anchor', 'eval', 'synthetic'))";

/**
 * FAC Synthesis: the `synthetic` dataset role, synthesis runs, every candidate the gate saw and
 * the lineage of every accepted sample.
 *
 * - `datasets.role` also allows `synthetic`. SQLite cannot alter a CHECK constraint, and rebuilding
 *   `datasets` would cascade-delete every sample (foreign keys are on and cannot be switched off
 *   inside the migration's transaction), so the constraint text is widened in `sqlite_schema` with
 *   SQLite's documented procedure for loosening constraints (writable_schema, schema_version + 1).
 *   Existing rows satisfy the wider constraint, so nothing else changes.
 * - `synthesis_runs`: one per synthesis job: its request, the feature space, the anchor, seed and
 *   coverage run it started from, the synthetic dataset it fills, the coherence bound, the report.
 * - `synthesis_features`: one row per (run, feature) once the feature is finished, so a resumed
 *   job neither repeats nor loses a feature.
 * - `synthesis_candidates`: every generated candidate with step, steering strength, measured
 *   activation, scores and outcome (`accepted`, `contrast` for step-1 candidates, or a reason).
 * - `synthetic_samples`: provenance of each accepted sample (one per sample row).
 */
export const migration0006Synthesis: Migration = {
  version: 6,
  description: 'synthetic dataset role, synthesis runs, candidates and provenance',
  up(db) {
    const row = db.prepare<[], { sql: string }>(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'datasets'`).get();
    if (row === undefined || !row.sql.includes(oldRoleCheck)) {
      throw new Error(`Migration 6 expected the datasets table to carry ${oldRoleCheck}; the schema differs: ${row?.sql ?? '(no datasets table)'}`);
    }
    const schemaVersion = db.pragma('schema_version', { simple: true }) as number;
    db.unsafeMode(true);
    try {
      db.pragma('writable_schema = ON');
      db.prepare(`UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = 'datasets'`).run(row.sql.replace(oldRoleCheck, newRoleCheck));
      db.pragma(`schema_version = ${schemaVersion + 1}`);
      db.pragma('writable_schema = OFF');
    } finally {
      db.unsafeMode(false);
    }
    db.exec(`
      CREATE TABLE synthesis_runs (
        id INTEGER PRIMARY KEY,
        job_id TEXT UNIQUE,
        space_id INTEGER NOT NULL REFERENCES feature_spaces(id) ON DELETE CASCADE,
        anchor_dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        seed_dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        coverage_run_id INTEGER REFERENCES coverage_runs(id) ON DELETE SET NULL,
        dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        task TEXT NOT NULL,
        request TEXT NOT NULL,
        features TEXT NOT NULL,
        coherence TEXT,
        state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
        report TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE synthesis_features (
        run_id INTEGER NOT NULL REFERENCES synthesis_runs(id) ON DELETE CASCADE,
        feature INTEGER NOT NULL CHECK (feature >= 0),
        accepted INTEGER NOT NULL CHECK (accepted >= 0),
        fallback INTEGER NOT NULL CHECK (fallback IN (0, 1)),
        contrast TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        PRIMARY KEY (run_id, feature)
      ) STRICT;

      CREATE TABLE synthesis_candidates (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES synthesis_runs(id) ON DELETE CASCADE,
        feature INTEGER NOT NULL CHECK (feature >= 0),
        step INTEGER NOT NULL CHECK (step IN (1, 2)),
        steering REAL NOT NULL,
        seed INTEGER NOT NULL,
        raw TEXT NOT NULL,
        sample TEXT,
        activation REAL,
        perplexity REAL,
        overlap REAL,
        outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'contrast', 'unparseable', 'format', 'below-threshold', 'incoherent', 'near-duplicate', 'not-kept', 'removed')),
        detail TEXT,
        sample_id INTEGER REFERENCES samples(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX synthesis_candidates_by_run ON synthesis_candidates (run_id, feature);

      CREATE TABLE synthetic_samples (
        sample_id INTEGER PRIMARY KEY REFERENCES samples(id) ON DELETE CASCADE,
        run_id INTEGER NOT NULL REFERENCES synthesis_runs(id) ON DELETE CASCADE,
        candidate_id INTEGER REFERENCES synthesis_candidates(id) ON DELETE SET NULL,
        feature INTEGER NOT NULL CHECK (feature >= 0),
        activation REAL NOT NULL,
        rank INTEGER NOT NULL CHECK (rank >= 1),
        fallback INTEGER NOT NULL CHECK (fallback IN (0, 1)),
        step INTEGER NOT NULL CHECK (step IN (1, 2)),
        record TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX synthetic_samples_by_run ON synthetic_samples (run_id, feature);
    `);
  },
};
