import type Database from 'better-sqlite3';
import type { NormalizedSample } from '../../shared/datasetTypes.ts';
import type { CoherenceBound, RejectionReason, SynthesisRecord, SynthesisReport, SynthesisRunView } from '../../shared/synthesisTypes.ts';

export type CandidateOutcome = 'accepted' | 'contrast' | RejectionReason;

export interface NewSynthesisRun {
  jobId: string | null;
  spaceId: number;
  anchorDatasetId: number;
  seedDatasetId: number;
  coverageRunId: number | null;
  datasetId: number;
  task: string;
  request: unknown;
  features: number[];
}

export interface SynthesisRunRecord {
  id: number;
  jobId: string | null;
  spaceId: number;
  anchorDatasetId: number | null;
  seedDatasetId: number | null;
  coverageRunId: number | null;
  datasetId: number | null;
  task: string;
  request: unknown;
  features: number[];
  coherence: CoherenceBound | null;
  state: 'running' | 'done' | 'failed';
  report: SynthesisReport | null;
  createdAt: string;
}

export interface NewCandidate {
  runId: number;
  feature: number;
  step: 1 | 2;
  steering: number;
  seed: number;
  raw: string;
  sample: NormalizedSample | null;
  activation: number | null;
  perplexity: number | null;
  overlap: number | null;
  outcome: CandidateOutcome;
  detail: string | null;
}

export interface CandidateRow extends NewCandidate {
  id: number;
  sampleId: number | null;
  createdAt: string;
}

interface RunRow {
  id: number;
  job_id: string | null;
  space_id: number;
  anchor_dataset_id: number | null;
  seed_dataset_id: number | null;
  coverage_run_id: number | null;
  dataset_id: number | null;
  task: string;
  request: string;
  features: string;
  coherence: string | null;
  state: 'running' | 'done' | 'failed';
  report: string | null;
  created_at: string;
}

interface CandidateDbRow {
  id: number;
  run_id: number;
  feature: number;
  step: 1 | 2;
  steering: number;
  seed: number;
  raw: string;
  sample: string | null;
  activation: number | null;
  perplexity: number | null;
  overlap: number | null;
  outcome: CandidateOutcome;
  detail: string | null;
  sample_id: number | null;
  created_at: string;
}

const toRun = (row: RunRow): SynthesisRunRecord => ({
  id: row.id,
  jobId: row.job_id,
  spaceId: row.space_id,
  anchorDatasetId: row.anchor_dataset_id,
  seedDatasetId: row.seed_dataset_id,
  coverageRunId: row.coverage_run_id,
  datasetId: row.dataset_id,
  task: row.task,
  request: JSON.parse(row.request),
  features: JSON.parse(row.features) as number[],
  coherence: row.coherence === null ? null : (JSON.parse(row.coherence) as CoherenceBound),
  state: row.state,
  report: row.report === null ? null : (JSON.parse(row.report) as SynthesisReport),
  createdAt: row.created_at,
});

const toCandidate = (row: CandidateDbRow): CandidateRow => ({
  id: row.id,
  runId: row.run_id,
  feature: row.feature,
  step: row.step,
  steering: row.steering,
  seed: row.seed,
  raw: row.raw,
  sample: row.sample === null ? null : (JSON.parse(row.sample) as NormalizedSample),
  activation: row.activation,
  perplexity: row.perplexity,
  overlap: row.overlap,
  outcome: row.outcome,
  detail: row.detail,
  sampleId: row.sample_id,
  createdAt: row.created_at,
});

/** Synthesis runs, candidates and provenance in SQLite (migration 0006). */
export class SynthesisRepository {
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  insertRun(run: NewSynthesisRun): number {
    const now = new Date().toISOString();
    return Number(
      this.db
        .prepare(
          `INSERT INTO synthesis_runs (job_id, space_id, anchor_dataset_id, seed_dataset_id, coverage_run_id, dataset_id, task, request, features, state, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
        )
        .run(run.jobId, run.spaceId, run.anchorDatasetId, run.seedDatasetId, run.coverageRunId, run.datasetId, run.task, JSON.stringify(run.request), JSON.stringify(run.features), now, now).lastInsertRowid,
    );
  }

  run(id: number): SynthesisRunRecord | undefined {
    const row = this.db.prepare<[number], RunRow>('SELECT * FROM synthesis_runs WHERE id = ?').get(id);
    return row === undefined ? undefined : toRun(row);
  }

  runOfJob(jobId: string): SynthesisRunRecord | undefined {
    const row = this.db.prepare<[string], RunRow>('SELECT * FROM synthesis_runs WHERE job_id = ?').get(jobId);
    return row === undefined ? undefined : toRun(row);
  }

  runOfDataset(datasetId: number): SynthesisRunRecord | undefined {
    const row = this.db.prepare<[number], RunRow>('SELECT * FROM synthesis_runs WHERE dataset_id = ? ORDER BY id DESC LIMIT 1').get(datasetId);
    return row === undefined ? undefined : toRun(row);
  }

  listRuns(limit: number): SynthesisRunView[] {
    const rows = this.db
      .prepare<[number], RunRow & { dataset_name: string | null; finished: number }>(
        `SELECT r.*, d.name AS dataset_name, (SELECT COUNT(*) FROM synthesis_features f WHERE f.run_id = r.id) AS finished
         FROM synthesis_runs r LEFT JOIN datasets d ON d.id = r.dataset_id ORDER BY r.id DESC LIMIT ?`,
      )
      .all(limit);
    return rows.map((row) => {
      const run = toRun(row);
      let report: SynthesisRunView['report'] = null;
      if (run.report !== null) {
        const { accepted, rejected, ...summary } = run.report;
        report = { ...summary, acceptedCount: accepted.length, rejectedCount: rejected.length };
      }
      return { id: run.id, jobId: run.jobId, task: run.task, state: run.state, dataset: row.dataset_name, datasetId: run.datasetId, features: run.features, finishedFeatures: row.finished, createdAt: run.createdAt, report };
    });
  }

  setCoherence(runId: number, coherence: CoherenceBound): void {
    this.db.prepare('UPDATE synthesis_runs SET coherence = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(coherence), new Date().toISOString(), runId);
  }

  finishRun(runId: number, state: 'done' | 'failed', report: SynthesisReport | null): void {
    this.db.prepare('UPDATE synthesis_runs SET state = ?, report = ?, updated_at = ? WHERE id = ?').run(state, report === null ? null : JSON.stringify(report), new Date().toISOString(), runId);
  }

  finishedFeatures(runId: number): Set<number> {
    return new Set(this.db.prepare<[number], { feature: number }>('SELECT feature FROM synthesis_features WHERE run_id = ?').all(runId).map((row) => row.feature));
  }

  markFeature(runId: number, feature: number, accepted: number, fallback: boolean, contrast: unknown): void {
    this.db
      .prepare('INSERT INTO synthesis_features (run_id, feature, accepted, fallback, contrast, finished_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(runId, feature, accepted, fallback ? 1 : 0, JSON.stringify(contrast), new Date().toISOString());
  }

  /** Finished features of a run: accepted count, whether x⁺ fell back to the anchor span, and the prompts and pair used. */
  featureRows(runId: number): { feature: number; accepted: number; fallback: boolean; contrast: unknown }[] {
    return this.db
      .prepare<[number], { feature: number; accepted: number; fallback: number; contrast: string }>('SELECT feature, accepted, fallback, contrast FROM synthesis_features WHERE run_id = ? ORDER BY finished_at, feature')
      .all(runId)
      .map((row) => ({ feature: row.feature, accepted: row.accepted, fallback: row.fallback === 1, contrast: JSON.parse(row.contrast) }));
  }

  insertCandidate(candidate: NewCandidate): number {
    return Number(
      this.db
        .prepare(
          `INSERT INTO synthesis_candidates (run_id, feature, step, steering, seed, raw, sample, activation, perplexity, overlap, outcome, detail, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          candidate.runId,
          candidate.feature,
          candidate.step,
          candidate.steering,
          candidate.seed,
          candidate.raw,
          candidate.sample === null ? null : JSON.stringify(candidate.sample),
          candidate.activation,
          candidate.perplexity,
          candidate.overlap,
          candidate.outcome,
          candidate.detail,
          new Date().toISOString(),
        ).lastInsertRowid,
    );
  }

  setCandidateOutcome(candidateId: number, outcome: CandidateOutcome, detail: string | null, sampleId: number | null): void {
    this.db.prepare('UPDATE synthesis_candidates SET outcome = ?, detail = ?, sample_id = ? WHERE id = ?').run(outcome, detail, sampleId, candidateId);
  }

  candidates(runId: number): CandidateRow[] {
    return this.db.prepare<[number], CandidateDbRow>('SELECT * FROM synthesis_candidates WHERE run_id = ? ORDER BY id').all(runId).map(toCandidate);
  }

  candidatesAfter(runId: number, afterId: number, limit: number): CandidateRow[] {
    return this.db.prepare<[number, number, number], CandidateDbRow>('SELECT * FROM synthesis_candidates WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?').all(runId, afterId, limit).map(toCandidate);
  }

  candidate(id: number): CandidateRow | undefined {
    const row = this.db.prepare<[number], CandidateDbRow>('SELECT * FROM synthesis_candidates WHERE id = ?').get(id);
    return row === undefined ? undefined : toCandidate(row);
  }

  insertProvenance(sampleId: number, candidateId: number | null, record: SynthesisRecord): void {
    this.db
      .prepare(
        `INSERT INTO synthetic_samples (sample_id, run_id, candidate_id, feature, activation, rank, fallback, step, record, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(sampleId, record.runId, candidateId, record.feature, record.activation, record.rank, record.fallback ? 1 : 0, record.step, JSON.stringify(record), record.createdAt);
  }

  /** Accepted samples of a run with their lineage, in dataset order. */
  provenance(runId: number): { sampleId: number; ordinal: number; candidateId: number | null; record: SynthesisRecord }[] {
    return this.db
      .prepare<[number], { sample_id: number; ordinal: number; candidate_id: number | null; record: string }>(
        `SELECT p.sample_id, s.ordinal, p.candidate_id, p.record FROM synthetic_samples p JOIN samples s ON s.id = p.sample_id WHERE p.run_id = ? ORDER BY s.ordinal`,
      )
      .all(runId)
      .map((row) => ({ sampleId: row.sample_id, ordinal: row.ordinal, candidateId: row.candidate_id, record: JSON.parse(row.record) as SynthesisRecord }));
  }

  updateProvenanceRecord(sampleId: number, record: SynthesisRecord): void {
    this.db.prepare('UPDATE synthetic_samples SET activation = ?, record = ? WHERE sample_id = ?').run(record.activation, JSON.stringify(record), sampleId);
  }
}
