import type Database from 'better-sqlite3';

export interface CoverageRunRecord<Request = unknown, Result = unknown> {
  id: number;
  spaceId: number | null;
  request: Request;
  result: Result;
  createdAt: string;
}

interface CoverageRunRow {
  id: number;
  space_id: number | null;
  request: string;
  result: string;
  created_at: string;
}

/** Saved coverage runs (migration 0004), prepared once. */
export class CoverageRepository {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      insert: db.prepare<[number | null, string, string, string]>(`INSERT INTO coverage_runs (space_id, request, result, created_at) VALUES (?, ?, ?, ?)`),
      byId: db.prepare<[number], CoverageRunRow>(`SELECT * FROM coverage_runs WHERE id = ?`),
      remove: db.prepare<[number]>(`DELETE FROM coverage_runs WHERE id = ?`),
      list: db.prepare<[number], CoverageRunRow>(`SELECT * FROM coverage_runs ORDER BY id DESC LIMIT ?`),
    };
  }

  insert(spaceId: number | null, request: unknown, result: unknown): number {
    return Number(this.statements.insert.run(spaceId, JSON.stringify(request), JSON.stringify(result), new Date().toISOString()).lastInsertRowid);
  }

  get<Request, Result>(id: number): CoverageRunRecord<Request, Result> | undefined {
    const row = this.statements.byId.get(id);
    return row === undefined ? undefined : { id: row.id, spaceId: row.space_id, request: JSON.parse(row.request) as Request, result: JSON.parse(row.result) as Result, createdAt: row.created_at };
  }

  /** False when there was no such run. */
  delete(id: number): boolean {
    return this.statements.remove.run(id).changes > 0;
  }

  list<Request, Result>(limit: number): CoverageRunRecord<Request, Result>[] {
    return this.statements.list.all(limit).map((row) => ({ id: row.id, spaceId: row.space_id, request: JSON.parse(row.request) as Request, result: JSON.parse(row.result) as Result, createdAt: row.created_at }));
  }
}
