import type Database from 'better-sqlite3';
import type { JobMetricPoint } from '../../shared/registryTypes.ts';

/** A job's metric series in `job_metrics` (see migration 0009). */
export class JobMetricsRepository {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      append: db.prepare<[string, number, string, string]>(
        `INSERT INTO job_metrics (job_id, seq, done, vals) SELECT ?, coalesce(max(seq), 0) + 1, ?, ? FROM job_metrics WHERE job_id = ?`,
      ),
      after: db.prepare<[string, number, number], { seq: number; done: number; vals: string }>(`SELECT seq, done, vals FROM job_metrics WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
      clear: db.prepare<[string]>(`DELETE FROM job_metrics WHERE job_id = ?`),
    };
  }

  append(jobId: string, done: number, values: Record<string, number>): void {
    const finite = Object.fromEntries(Object.entries(values).filter(([, value]) => Number.isFinite(value)));
    this.statements.append.run(jobId, done, JSON.stringify(finite), jobId);
  }

  /** Points after `afterSeq`, oldest first. */
  after(jobId: string, afterSeq: number, limit: number): JobMetricPoint[] {
    return this.statements.after.all(jobId, afterSeq, limit).map((row) => ({ seq: row.seq, done: row.done, values: JSON.parse(row.vals) as Record<string, number> }));
  }

  clear(jobId: string): void {
    this.statements.clear.run(jobId);
  }
}
