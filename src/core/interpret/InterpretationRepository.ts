import type Database from 'better-sqlite3';
import type { FeatureExplanationView, FeatureVerdictView, RelevanceVerdict } from '../../shared/interpretationTypes.ts';
import { isRelevant } from '../../shared/interpretationTypes.ts';

export interface NewExplanation {
  spaceId: number;
  feature: number;
  explainer: string;
  explainerLabel: string;
  promptVersion: number;
  explanation: string;
  canTell: boolean;
  score: number | null;
  verification: RelevanceVerdict | null;
  candidates: unknown;
  examples: unknown;
}

export interface NewVerdict {
  spaceId: number;
  feature: number;
  judge: string;
  judgeLabel: string;
  promptVersion: number;
  task: string;
  rubricHash: string;
  verdict: RelevanceVerdict;
  analysis: string;
  explanation: string | null;
  examples: unknown;
}

interface ExplanationRow {
  feature: number;
  explanation: string;
  can_tell: number;
  score: number | null;
  verification: RelevanceVerdict | null;
  explainer: string;
  explainer_label: string;
  created_at: string;
}

interface VerdictRow {
  feature: number;
  task: string;
  verdict: RelevanceVerdict;
  analysis: string;
  judge: string;
  judge_label: string;
  created_at: string;
}

const toExplanation = (row: ExplanationRow): FeatureExplanationView => ({
  feature: row.feature,
  explanation: row.explanation,
  canTell: row.can_tell === 1,
  score: row.score,
  verification: row.verification,
  explainer: row.explainer,
  explainerLabel: row.explainer_label,
  createdAt: row.created_at,
});

const toVerdict = (row: VerdictRow): FeatureVerdictView => ({
  feature: row.feature,
  task: row.task,
  verdict: row.verdict,
  analysis: row.analysis,
  judge: row.judge,
  judgeLabel: row.judge_label,
  createdAt: row.created_at,
});

const explanationColumns = 'feature, explanation, can_tell, score, verification, explainer, explainer_label, created_at';
const verdictColumns = 'feature, task, verdict, analysis, judge, judge_label, created_at';

/** Explanations and verdicts in SQLite (migration 0005). Each feature's result is one row, written at once. */
export class InterpretationRepository {
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
  }

  /** Features of `candidates` that already have an explanation from this explainer and prompt version. */
  explainedFeatures(spaceId: number, explainer: string, promptVersion: number): Set<number> {
    const rows = this.db.prepare<[number, string, number], { feature: number }>('SELECT feature FROM feature_explanations WHERE space_id = ? AND explainer = ? AND prompt_version = ?').all(spaceId, explainer, promptVersion);
    return new Set(rows.map((row) => row.feature));
  }

  insertExplanation(entry: NewExplanation): void {
    this.db
      .prepare(
        `INSERT INTO feature_explanations (space_id, feature, explainer, explainer_label, prompt_version, explanation, can_tell, score, verification, candidates, examples, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (space_id, feature, explainer, prompt_version) DO NOTHING`,
      )
      .run(entry.spaceId, entry.feature, entry.explainer, entry.explainerLabel, entry.promptVersion, entry.explanation, entry.canTell ? 1 : 0, entry.score, entry.verification, JSON.stringify(entry.candidates), JSON.stringify(entry.examples), new Date().toISOString());
  }

  /**
   * The explanation to show and judge for each feature of a space: the best-scoring one that
   * could tell, else the newest.
   */
  bestExplanations(spaceId: number, features?: readonly number[]): Map<number, FeatureExplanationView> {
    const rows = this.db
      .prepare<[number], ExplanationRow>(`SELECT ${explanationColumns} FROM feature_explanations WHERE space_id = ? ORDER BY feature, can_tell DESC, score IS NULL, score DESC, created_at DESC, id DESC`)
      .all(spaceId);
    const wanted = features === undefined ? undefined : new Set(features);
    const out = new Map<number, FeatureExplanationView>();
    for (const row of rows) {
      if (wanted !== undefined && !wanted.has(row.feature)) continue;
      if (!out.has(row.feature)) out.set(row.feature, toExplanation(row));
    }
    return out;
  }

  /** This explainer's explanations (one per feature) under one prompt version. */
  bestExplanationsBy(spaceId: number, explainer: string, promptVersion: number): Map<number, FeatureExplanationView> {
    const rows = this.db
      .prepare<[number, string, number], ExplanationRow>(`SELECT ${explanationColumns} FROM feature_explanations WHERE space_id = ? AND explainer = ? AND prompt_version = ?`)
      .all(spaceId, explainer, promptVersion);
    return new Map(rows.map((row) => [row.feature, toExplanation(row)]));
  }

  /** Every stored explanation of one feature, best first. */
  explanationsOf(spaceId: number, feature: number): FeatureExplanationView[] {
    return this.db
      .prepare<[number, number], ExplanationRow>(`SELECT ${explanationColumns} FROM feature_explanations WHERE space_id = ? AND feature = ? ORDER BY can_tell DESC, score IS NULL, score DESC, created_at DESC, id DESC`)
      .all(spaceId, feature)
      .map(toExplanation);
  }

  judgedFeatures(spaceId: number, judge: string, promptVersion: number, task: string, rubricHash: string): Set<number> {
    const rows = this.db
      .prepare<[number, string, number, string, string], { feature: number }>('SELECT feature FROM feature_verdicts WHERE space_id = ? AND judge = ? AND prompt_version = ? AND task = ? AND rubric_hash = ?')
      .all(spaceId, judge, promptVersion, task, rubricHash);
    return new Set(rows.map((row) => row.feature));
  }

  insertVerdict(entry: NewVerdict): void {
    this.db
      .prepare(
        `INSERT INTO feature_verdicts (space_id, feature, judge, judge_label, prompt_version, task, rubric_hash, verdict, analysis, explanation, examples, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (space_id, feature, judge, prompt_version, task, rubric_hash) DO NOTHING`,
      )
      .run(entry.spaceId, entry.feature, entry.judge, entry.judgeLabel, entry.promptVersion, entry.task, entry.rubricHash, entry.verdict, entry.analysis, entry.explanation, JSON.stringify(entry.examples), new Date().toISOString());
  }

  /** The newest verdict per feature for a task in a space. */
  latestVerdicts(spaceId: number, task: string): Map<number, FeatureVerdictView> {
    const rows = this.db.prepare<[number, string], VerdictRow>(`SELECT ${verdictColumns} FROM feature_verdicts WHERE space_id = ? AND task = ? ORDER BY feature, created_at DESC, id DESC`).all(spaceId, task);
    const out = new Map<number, FeatureVerdictView>();
    for (const row of rows) if (!out.has(row.feature)) out.set(row.feature, toVerdict(row));
    return out;
  }

  /** Newest verdict per task for one feature. */
  verdictsOf(spaceId: number, feature: number): FeatureVerdictView[] {
    const rows = this.db.prepare<[number, number], VerdictRow>(`SELECT ${verdictColumns} FROM feature_verdicts WHERE space_id = ? AND feature = ? ORDER BY task, created_at DESC, id DESC`).all(spaceId, feature);
    const seen = new Set<string>();
    return rows.filter((row) => !seen.has(row.task) && seen.add(row.task)).map(toVerdict);
  }

  /** Tasks judged in a space. */
  tasks(spaceId: number): string[] {
    return this.db.prepare<[number], { task: string }>('SELECT DISTINCT task FROM feature_verdicts WHERE space_id = ? ORDER BY task').all(spaceId).map((row) => row.task);
  }

  /** Relevant features (Yes, Probably or Maybe in the newest verdict) for a task in a space, ascending. */
  relevantFeatures(spaceId: number, task: string): number[] {
    return [...this.latestVerdicts(spaceId, task).values()].filter((verdict) => isRelevant(verdict.verdict)).map((verdict) => verdict.feature).sort((a, b) => a - b);
  }

  /** Full-text search over explanations (FTS5 query syntax, words ANDed); best match first. */
  search(spaceId: number | undefined, query: string, limit: number): (FeatureExplanationView & { spaceId: number })[] {
    const terms = query.match(/[\p{L}\p{N}_]+/gu) ?? [];
    if (terms.length === 0) return [];
    const match = terms.map((term) => `"${term}"`).join(' ');
    const rows = this.db
      .prepare<[string, number | null, number | null, number], ExplanationRow & { space_id: number }>(
        `SELECT e.space_id, ${explanationColumns.split(', ').map((column) => `e.${column}`).join(', ')}
         FROM feature_explanations_fts f JOIN feature_explanations e ON e.id = f.rowid
         WHERE feature_explanations_fts MATCH ? AND (? IS NULL OR e.space_id = ?)
         ORDER BY bm25(feature_explanations_fts), e.feature LIMIT ?`,
      )
      .all(match, spaceId ?? null, spaceId ?? null, limit);
    return rows.map((row) => ({ ...toExplanation(row), spaceId: row.space_id }));
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }
}
