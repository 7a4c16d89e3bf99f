import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FacetError } from '../../shared/FacetError.ts';
import type { Migration } from './Migration.ts';
import { migrations as allMigrations } from './migrations/index.ts';

export interface OpenStoreOptions {
  /** Migrations to apply. Defaults to every migration Facet knows (tests pass a prefix). */
  migrations?: readonly Migration[];
  readonly?: boolean;
}

/**
 * The only owner of the SQLite connection. Repositories receive `store.db` and prepare their
 * statements once. WAL, foreign keys and STRICT tables; schema version in `user_version`.
 */
export class Store {
  readonly db: Database.Database;
  readonly path: string;

  private constructor(db: Database.Database, path: string) {
    this.db = db;
    this.path = path;
  }

  static open(path: string, options: OpenStoreOptions = {}): Store {
    const steps = options.migrations ?? allMigrations;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: options.readonly ?? false });
    } catch (error) {
      throw new FacetError('STORE_OPEN_FAILED', `Cannot open the Facet database ${path}: ${(error as Error).message}. Check the file permissions or set FACET_HOME to another folder.`, { path }, { cause: error });
    }
    try {
      db.pragma('busy_timeout = 10000');
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.pragma('synchronous = NORMAL');
      migrate(db, path, steps);
    } catch (error) {
      db.close();
      throw error;
    }
    return new Store(db, path);
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function migrate(db: Database.Database, path: string, steps: readonly Migration[]): void {
  // IMMEDIATE: a second process opening the same new workspace waits here instead of racing
  // through the same steps; the version is read inside the lock.
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    const latest = steps.length;
    if (current > latest) {
      throw new FacetError(
        'STORE_NEWER_VERSION',
        `The database ${path} was written by a newer Facet (schema ${current}; this Facet knows up to ${latest}). Update Facet, or point FACET_HOME at another folder.`,
        { path, schemaVersion: current, supported: latest },
      );
    }
    steps.forEach((step, index) => {
      if (step.version !== index + 1) throw new Error(`Migration ${step.description} is numbered ${step.version} but sits at position ${index + 1}.`);
    });
    // One transaction for all pending steps: if any fails, the database stays as it was opened.
    for (const step of steps.slice(current)) {
      step.up(db);
      db.pragma(`user_version = ${step.version}`);
    }
  }).immediate();
}
