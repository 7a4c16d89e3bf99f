import type Database from 'better-sqlite3';
import type { WireError } from '../../shared/FacetError.ts';
import type { JobState } from '../../shared/jobTypes.ts';

export interface JobRecord {
  id: string;
  kind: string;
  title: string;
  params: unknown;
  state: JobState;
  done: number;
  total: number | null;
  checkpoint: unknown;
  result: unknown;
  error: WireError | null;
  ownerPid: number | null;
  /** Cancel was requested (by this or another process) and the job has not finished since. */
  cancelRequested: boolean;
  dismissedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What changes when another process touches a job: enough to tell which rows to re-read. */
export interface JobChangeMark {
  id: string;
  mark: string;
}

interface JobRow {
  id: string;
  kind: string;
  title: string;
  params: string;
  state: JobState;
  done: number;
  total: number | null;
  checkpoint: string | null;
  result: string | null;
  error: string | null;
  owner_pid: number | null;
  cancel_requested: number;
  dismissed_at: string | null;
  created_at: string;
  updated_at: string;
}

function parse(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

function fromRow(row: JobRow): JobRecord {
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    params: parse(row.params),
    state: row.state,
    done: row.done,
    total: row.total,
    checkpoint: parse(row.checkpoint),
    result: parse(row.result),
    error: parse(row.error) as WireError | null,
    ownerPid: row.owner_pid,
    cancelRequested: row.cancel_requested === 1,
    dismissedAt: row.dismissed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** SQL for the `jobs` table, prepared once. */
export class JobRepository {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      insert: db.prepare<[string, string, string, string, number, string, string]>(
        `INSERT INTO jobs (id, kind, title, params, state, owner_pid, created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)`,
      ),
      requestCancel: db.prepare<[string]>(`UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state IN ('queued', 'running')`),
      cancelRequested: db.prepare<[string], { cancel_requested: number }>(`SELECT cancel_requested FROM jobs WHERE id = ?`),
      /** Takes a queued job for this process; false when another process took or finished it first. */
      claim: db.prepare<[number, string, string, number]>(
        `UPDATE jobs SET state = 'running', owner_pid = ?, updated_at = ? WHERE id = ? AND state = 'queued' AND (owner_pid IS NULL OR owner_pid = ?)`,
      ),
      get: db.prepare<[string], JobRow>(`SELECT * FROM jobs WHERE id = ?`),
      list: db.prepare<[number], JobRow>(`SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?`),
      unfinished: db.prepare<[], JobRow>(`SELECT * FROM jobs WHERE state IN ('queued', 'running') ORDER BY created_at`),
      setState: db.prepare<[JobState, number | null, string, string]>(`UPDATE jobs SET state = ?, owner_pid = ?, cancel_requested = 0, updated_at = ? WHERE id = ?`),
      progress: db.prepare<[number, number | null, string, string]>(`UPDATE jobs SET done = ?, total = ?, updated_at = ? WHERE id = ?`),
      progressWithCheckpoint: db.prepare<[number, number | null, string, string, string]>(
        `UPDATE jobs SET done = ?, total = ?, checkpoint = ?, updated_at = ? WHERE id = ?`,
      ),
      setError: db.prepare<[string | null, string, string]>(`UPDATE jobs SET error = ?, updated_at = ? WHERE id = ?`),
      finish: db.prepare<[JobState, string | null, string | null, string, string]>(
        `UPDATE jobs SET state = ?, result = ?, error = ?, owner_pid = NULL, updated_at = ? WHERE id = ?`,
      ),
      dismiss: db.prepare<[string, string]>(`UPDATE jobs SET dismissed_at = ? WHERE id = ? AND dismissed_at IS NULL`),
      dismissFinished: db.prepare<[string], { id: string }>(`UPDATE jobs SET dismissed_at = ? WHERE dismissed_at IS NULL AND state IN ('done', 'failed', 'cancelled') RETURNING id`),
      restart: db.prepare<[number, string, string, string]>(
        `UPDATE jobs SET state = 'queued', done = 0, total = NULL, checkpoint = NULL, result = NULL, error = NULL, owner_pid = ?, cancel_requested = 0, dismissed_at = NULL, created_at = ?, updated_at = ? WHERE id = ?`,
      ),
      marks: db.prepare<[number], JobChangeMark>(`SELECT id, updated_at || '|' || state || '|' || cancel_requested || '|' || coalesce(dismissed_at, '') AS mark FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?`),
    };
  }

  /** A new queued job owned by process `ownerPid` (only that process will start it). */
  insert(id: string, kind: string, title: string, params: unknown, ownerPid: number, now: string): void {
    this.statements.insert.run(id, kind, title, JSON.stringify(params), ownerPid, now, now);
  }

  claim(id: string, ownerPid: number, now: string): boolean {
    return this.statements.claim.run(ownerPid, now, id, ownerPid).changes === 1;
  }

  /** Asks the owning process (whichever it is) to cancel the job; it checks this while the job runs. */
  requestCancel(id: string): void {
    this.statements.requestCancel.run(id);
  }

  cancelRequested(id: string): boolean {
    return (this.statements.cancelRequested.get(id)?.cancel_requested ?? 0) === 1;
  }

  get(id: string): JobRecord | undefined {
    const row = this.statements.get.get(id);
    return row === undefined ? undefined : fromRow(row);
  }

  list(limit = 200): JobRecord[] {
    return this.statements.list.all(limit).map(fromRow);
  }

  unfinished(): JobRecord[] {
    return this.statements.unfinished.all().map(fromRow);
  }

  setState(id: string, state: JobState, ownerPid: number | null, now: string): void {
    this.statements.setState.run(state, ownerPid, now, id);
  }

  progress(id: string, done: number, total: number | null, now: string, checkpoint?: unknown): void {
    if (checkpoint === undefined) this.statements.progress.run(done, total, now, id);
    else this.statements.progressWithCheckpoint.run(done, total, JSON.stringify(checkpoint), now, id);
  }

  /** Records an error on a job without finishing it (the crash record of an interrupted job). */
  setError(id: string, error: WireError | null, now: string): void {
    this.statements.setError.run(error === null ? null : JSON.stringify(error), now, id);
  }

  /** Hides a job from the Jobs page and `jobs list` in every shell; false when it already was. */
  dismiss(id: string, now: string): boolean {
    return this.statements.dismiss.run(now, id).changes === 1;
  }

  /** Dismisses every finished job not dismissed yet; returns their ids. */
  dismissFinished(now: string): string[] {
    return this.statements.dismissFinished.all(now).map((row) => row.id);
  }

  /**
   * Queues a cancelled or failed job to run again from the start with the same parameters, for
   * process `ownerPid`: progress, checkpoint, result and error are cleared and its start time
   * is now (so its duration is the new run's).
   */
  restart(id: string, ownerPid: number, now: string): void {
    this.statements.restart.run(ownerPid, now, now, id);
  }

  /** A cheap change mark per recent job (update time, state, cancel request, dismissal). */
  marks(limit = 200): JobChangeMark[] {
    return this.statements.marks.all(limit);
  }

  finish(id: string, state: JobState, result: unknown, error: WireError | null, now: string): void {
    this.statements.finish.run(state, result === undefined ? null : JSON.stringify(result), error === null ? null : JSON.stringify(error), now, id);
  }
}
