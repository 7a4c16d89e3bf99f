import type { Migration } from '../Migration.ts';

/**
 * `job_metrics`: a job's measurement series, one row per point (SAE training: normalised MSE, L0
 * and dead features per step), so the UI can draw live curves in any shell and after a reload,
 * also when the job runs in a process of its own. Rows go with their job.
 */
export const migration0009JobMetrics: Migration = {
  version: 9,
  description: 'job metric series',
  up(db) {
    db.exec(`
      CREATE TABLE job_metrics (
        job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        done INTEGER NOT NULL,
        vals TEXT NOT NULL,
        PRIMARY KEY (job_id, seq)
      ) STRICT, WITHOUT ROWID;
    `);
  },
};
