import type Database from 'better-sqlite3';
import type { CompareDatasetRef, CompareParams } from '../../shared/compareTypes.ts';

export type { CompareDatasetRef, CompareParams };

export interface CompareRunRow<Summary = unknown> {
  id: number;
  key: string;
  jobId: string | null;
  spaceAId: number;
  spaceBId: number;
  datasets: CompareDatasetRef[];
  method: string;
  params: CompareParams;
  state: 'running' | 'done';
  summary: Summary | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface StoredPartner {
  a: number;
  rank: number;
  b: number;
  correlation: number;
  mutual: boolean;
}

interface RunRow {
  id: number;
  key: string;
  job_id: string | null;
  space_a_id: number;
  space_b_id: number;
  datasets: string;
  method: string;
  params: string;
  state: 'running' | 'done';
  summary: string | null;
  created_at: string;
  finished_at: string | null;
}

function toRun<Summary>(row: RunRow): CompareRunRow<Summary> {
  return {
    id: row.id,
    key: row.key,
    jobId: row.job_id,
    spaceAId: row.space_a_id,
    spaceBId: row.space_b_id,
    datasets: JSON.parse(row.datasets) as CompareDatasetRef[],
    method: row.method,
    params: JSON.parse(row.params) as CompareParams,
    state: row.state,
    summary: row.summary === null ? null : (JSON.parse(row.summary) as Summary),
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

/** SQL of match runs (migration 0007), prepared once. */
export class CompareRepository {
  readonly db: Database.Database;
  private readonly statements;

  constructor(db: Database.Database) {
    this.db = db;
    this.statements = {
      byKey: db.prepare<[string], RunRow>(`SELECT * FROM compare_runs WHERE key = ?`),
      byId: db.prepare<[number], RunRow>(`SELECT * FROM compare_runs WHERE id = ?`),
      list: db.prepare<[number], RunRow>(`SELECT * FROM compare_runs WHERE state = 'done' ORDER BY id DESC LIMIT ?`),
      insert: db.prepare(
        `INSERT INTO compare_runs (key, job_id, space_a_id, space_b_id, datasets, method, params, state, created_at)
         VALUES (@key, @jobId, @spaceAId, @spaceBId, @datasets, @method, @params, 'running', @createdAt)`,
      ),
      deletePartners: db.prepare<[number]>(`DELETE FROM compare_partners WHERE run_id = ?`),
      insertPartner: db.prepare<[number, number, number, number, number, number]>(`INSERT INTO compare_partners (run_id, a, rank, b, correlation, mutual) VALUES (?, ?, ?, ?, ?, ?)`),
      finish: db.prepare<[string, string, number]>(`UPDATE compare_runs SET state = 'done', summary = ?, finished_at = ? WHERE id = ?`),
      partners: db.prepare<[number], { a: number; rank: number; b: number; correlation: number; mutual: number }>(`SELECT a, rank, b, correlation, mutual FROM compare_partners WHERE run_id = ? ORDER BY a, rank`),
      best: db.prepare<[number], { a: number; rank: number; b: number; correlation: number; mutual: number }>(`SELECT a, rank, b, correlation, mutual FROM compare_partners WHERE run_id = ? AND rank = 0 ORDER BY a`),
    };
  }

  byKey<Summary>(key: string): CompareRunRow<Summary> | undefined {
    const row = this.statements.byKey.get(key);
    return row === undefined ? undefined : toRun<Summary>(row);
  }

  get<Summary>(id: number): CompareRunRow<Summary> | undefined {
    const row = this.statements.byId.get(id);
    return row === undefined ? undefined : toRun<Summary>(row);
  }

  list<Summary>(limit: number): CompareRunRow<Summary>[] {
    return this.statements.list.all(limit).map((row) => toRun<Summary>(row));
  }

  /** The run row of this request, created (state `running`) when missing. */
  ensure(run: { key: string; jobId: string | null; spaceAId: number; spaceBId: number; datasets: CompareDatasetRef[]; method: string; params: CompareParams }): CompareRunRow {
    const existing = this.byKey(run.key);
    if (existing !== undefined) return existing;
    this.statements.insert.run({ ...run, datasets: JSON.stringify(run.datasets), params: JSON.stringify(run.params), createdAt: new Date().toISOString() });
    return this.byKey(run.key)!;
  }

  /** Writes all partners and marks the run done, in one transaction. */
  finish(runId: number, partners: Iterable<StoredPartner>, summary: unknown): void {
    this.db.transaction(() => {
      this.statements.deletePartners.run(runId);
      for (const p of partners) this.statements.insertPartner.run(runId, p.a, p.rank, p.b, p.correlation, p.mutual ? 1 : 0);
      this.statements.finish.run(JSON.stringify(summary), new Date().toISOString(), runId);
    })();
  }

  partners(runId: number): StoredPartner[] {
    return this.statements.partners.all(runId).map((row) => ({ a: row.a, rank: row.rank, b: row.b, correlation: row.correlation, mutual: row.mutual === 1 }));
  }

  /** Rank-0 partner of each supported feature of A. */
  bestPartners(runId: number): StoredPartner[] {
    return this.statements.best.all(runId).map((row) => ({ a: row.a, rank: row.rank, b: row.b, correlation: row.correlation, mutual: row.mutual === 1 }));
  }
}
