import type { Migration } from '../Migration.ts';

/**
 * The feature index and coverage runs.
 *
 * - `feature_spaces`: one (model, layer, SAE, encode mode, template, max tokens, KV type, storage
 *   floor) combination; features of different spaces are not comparable.
 * - `feature_indexes`: one dataset indexed in one space (state `indexing` until finalised).
 * - `feature_index_samples`: per sample the sparse g_i = max over t ≥ t0 of feature i's code, with
 *   the peak token position; `entries` holds n × u32 feature ids (ascending), then n × f32 values,
 *   then n × u32 peak positions (little-endian).
 * - `feature_index_columns`: the same entries grouped by feature (CSC), in chunks of consecutive
 *   features: `starts` u32 [featureCount + 1], `vals` f32 and `ordinals` u32 per entry.
 * - Per-feature totals of a ready index live as blobs on its `feature_indexes` row:
 *   `feature_counts` u32, `feature_sums` f64, `feature_maxima` f32, each [dSae].
 * - `feature_spans`: the top activating spans per feature and index.
 * - `coverage_runs`: a coverage request and its result, as JSON.
 */
export const migration0004Features: Migration = {
  version: 4,
  description: 'feature index and coverage runs',
  up(db) {
    db.exec(`
      CREATE TABLE feature_spaces (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        sae_id INTEGER NOT NULL REFERENCES saes(id) ON DELETE CASCADE,
        model_hash TEXT NOT NULL,
        model_name TEXT NOT NULL,
        layer INTEGER NOT NULL CHECK (layer >= 0),
        encode_mode TEXT NOT NULL CHECK (encode_mode IN ('topk', 'dense-relu', 'architecture')),
        template INTEGER NOT NULL CHECK (template IN (0, 1)),
        max_tokens INTEGER NOT NULL CHECK (max_tokens > 0),
        kv TEXT NOT NULL CHECK (kv IN ('f16', 'f32')),
        min_activation REAL NOT NULL CHECK (min_activation >= 0),
        d_sae INTEGER NOT NULL CHECK (d_sae > 0),
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE feature_indexes (
        id INTEGER PRIMARY KEY,
        space_id INTEGER NOT NULL REFERENCES feature_spaces(id) ON DELETE CASCADE,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        state TEXT NOT NULL CHECK (state IN ('indexing', 'ready')),
        sample_count INTEGER NOT NULL,
        indexed_count INTEGER NOT NULL DEFAULT 0,
        entry_count INTEGER NOT NULL DEFAULT 0,
        token_count INTEGER NOT NULL DEFAULT 0,
        feature_counts BLOB,
        feature_sums BLOB,
        feature_maxima BLOB,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        UNIQUE (space_id, dataset_id)
      ) STRICT;

      CREATE TABLE feature_index_samples (
        index_id INTEGER NOT NULL REFERENCES feature_indexes(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        t0 INTEGER NOT NULL,
        token_count INTEGER NOT NULL,
        entry_count INTEGER NOT NULL,
        entries BLOB NOT NULL,
        PRIMARY KEY (index_id, ordinal)
      ) STRICT;

      CREATE TABLE feature_index_columns (
        index_id INTEGER NOT NULL REFERENCES feature_indexes(id) ON DELETE CASCADE,
        first_feature INTEGER NOT NULL,
        feature_count INTEGER NOT NULL,
        starts BLOB NOT NULL,
        vals BLOB NOT NULL,
        ordinals BLOB NOT NULL,
        PRIMARY KEY (index_id, first_feature)
      ) STRICT;

      CREATE TABLE feature_spans (
        index_id INTEGER NOT NULL REFERENCES feature_indexes(id) ON DELETE CASCADE,
        feature INTEGER NOT NULL,
        rank INTEGER NOT NULL,
        ordinal INTEGER NOT NULL,
        value REAL NOT NULL,
        peak INTEGER NOT NULL,
        start_token INTEGER NOT NULL,
        prefix_text TEXT NOT NULL,
        peak_text TEXT NOT NULL,
        PRIMARY KEY (index_id, feature, rank)
      ) STRICT;

      CREATE TABLE coverage_runs (
        id INTEGER PRIMARY KEY,
        space_id INTEGER REFERENCES feature_spaces(id) ON DELETE SET NULL,
        request TEXT NOT NULL,
        result TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
    `);
  },
};
