import type Database from 'better-sqlite3';

/** One numbered schema step. `version` equals its position in {@link migrations} plus one. */
export interface Migration {
  version: number;
  description: string;
  up(db: Database.Database): void;
}
