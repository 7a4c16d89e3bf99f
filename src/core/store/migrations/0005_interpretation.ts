import type { Migration } from '../Migration.ts';

/**
 * Feature explanations and task-relevance verdicts.
 *
 * - `feature_explanations`: one per (space, feature, explainer, prompt version): the kept
 *   explanation ('' when the explainer could not tell), its detection score (balanced accuracy),
 *   the verification on the four-level scale, every candidate with its score, and the excerpts
 *   the explainer was shown (JSON). `feature_explanations_fts` indexes the text (FTS5).
 * - `feature_verdicts`: one per (space, feature, judge, prompt version, task, rubric hash): the
 *   judge's analysis and verdict, with the explanation and excerpts it was shown.
 */
export const migration0005Interpretation: Migration = {
  version: 5,
  description: 'feature explanations and task relevance',
  up(db) {
    db.exec(`
      CREATE TABLE feature_explanations (
        id INTEGER PRIMARY KEY,
        space_id INTEGER NOT NULL REFERENCES feature_spaces(id) ON DELETE CASCADE,
        feature INTEGER NOT NULL CHECK (feature >= 0),
        explainer TEXT NOT NULL,
        explainer_label TEXT NOT NULL,
        prompt_version INTEGER NOT NULL,
        explanation TEXT NOT NULL,
        can_tell INTEGER NOT NULL CHECK (can_tell IN (0, 1)),
        score REAL CHECK (score IS NULL OR (score >= 0 AND score <= 1)),
        verification TEXT CHECK (verification IS NULL OR verification IN ('Yes', 'Probably', 'Maybe', 'No')),
        candidates TEXT NOT NULL,
        examples TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (space_id, feature, explainer, prompt_version)
      ) STRICT;
      CREATE INDEX feature_explanations_by_feature ON feature_explanations (space_id, feature);

      CREATE VIRTUAL TABLE feature_explanations_fts USING fts5(explanation, content='feature_explanations', content_rowid='id');
      CREATE TRIGGER feature_explanations_fts_insert AFTER INSERT ON feature_explanations BEGIN
        INSERT INTO feature_explanations_fts (rowid, explanation) VALUES (new.id, new.explanation);
      END;
      CREATE TRIGGER feature_explanations_fts_delete AFTER DELETE ON feature_explanations BEGIN
        INSERT INTO feature_explanations_fts (feature_explanations_fts, rowid, explanation) VALUES ('delete', old.id, old.explanation);
      END;

      CREATE TABLE feature_verdicts (
        id INTEGER PRIMARY KEY,
        space_id INTEGER NOT NULL REFERENCES feature_spaces(id) ON DELETE CASCADE,
        feature INTEGER NOT NULL CHECK (feature >= 0),
        judge TEXT NOT NULL,
        judge_label TEXT NOT NULL,
        prompt_version INTEGER NOT NULL,
        task TEXT NOT NULL,
        rubric_hash TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('Yes', 'Probably', 'Maybe', 'No')),
        analysis TEXT NOT NULL,
        explanation TEXT,
        examples TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (space_id, feature, judge, prompt_version, task, rubric_hash)
      ) STRICT;
      CREATE INDEX feature_verdicts_by_task ON feature_verdicts (space_id, task, feature);
    `);
  },
};
