import type { Migration } from '../Migration.ts';

/**
 * Jobs can be dismissed one by one (finished, failed or cancelled): `dismissed_at` is when, or
 * NULL. Dismissal hides a job from the Jobs page and `facet jobs list` in every shell of the
 * workspace; it does not change the job's state, result or `updated_at` (its duration).
 */
export const migration0008JobDismissal: Migration = {
  version: 8,
  description: 'per-job dismissal',
  up(db) {
    db.exec(`ALTER TABLE jobs ADD COLUMN dismissed_at TEXT`);
  },
};
