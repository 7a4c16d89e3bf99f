import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { FacetError } from '../../src/shared/FacetError.ts';
import { Store } from '../../src/core/store/Store.ts';
import { migrations } from '../../src/core/store/migrations/index.ts';
import { tempHome } from '../support/tempHome.ts';

const homes: { remove(): void }[] = [];
afterEach(() => homes.splice(0).forEach((home) => home.remove()));
function dbPath(): string {
  const home = tempHome();
  homes.push(home);
  return join(home.path, 'facet.db');
}

describe('Store', () => {
  it('opens with WAL, foreign keys, every migration applied and STRICT tables', () => {
    const store = Store.open(dbPath());
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.schemaVersion).toBe(migrations.length);
    const tables = store.db.prepare<[], { name: string; strict: number }>(`SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%'`).all();
    expect(tables.length).toBeGreaterThanOrEqual(3);
    for (const table of tables) expect({ table: table.name, strict: table.strict }).toEqual({ table: table.name, strict: 1 });
    store.close();
  });

  it('numbers migrations by position', () => {
    migrations.forEach((migration, index) => expect(migration.version).toBe(index + 1));
  });

  it('refuses a database written by a newer Facet and leaves it untouched', () => {
    const path = dbPath();
    Store.open(path).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${migrations.length + 5}`);
    raw.close();
    let error: unknown;
    try {
      Store.open(path);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FacetError);
    expect((error as FacetError).code).toBe('STORE_NEWER_VERSION');
    expect((error as FacetError).message).toContain(path);
    const check = new Database(path);
    expect(check.pragma('user_version', { simple: true })).toBe(migrations.length + 5);
    check.close();
  });

  it('upgrades an older database step by step, keeping its data', () => {
    const path = dbPath();
    const old = Store.open(path, { migrations: migrations.slice(0, 1) });
    old.db.prepare(`INSERT INTO datasets (name, role, format, source_path, state, created_at) VALUES ('d', 'seed', 'text', '/x', 'ready', 'now')`).run();
    old.db.prepare(`INSERT INTO samples (dataset_id, ordinal, source_line, content_hash, turns) VALUES (1, 0, 1, 'h', '[]')`).run();
    expect(old.schemaVersion).toBe(1);
    old.close();
    const store = Store.open(path);
    expect(store.schemaVersion).toBe(migrations.length);
    expect(store.db.prepare('SELECT count(*) AS n FROM samples').get()).toEqual({ n: 1 });
    store.close();
  });

  it('rolls a failing upgrade back completely, leaving the database as it was', () => {
    const path = dbPath();
    const old = Store.open(path, { migrations: migrations.slice(0, 1) });
    old.db.prepare(`INSERT INTO datasets (name, role, format, source_path, state, created_at) VALUES ('kept', 'seed', 'text', '/x', 'ready', 'now')`).run();
    old.close();
    const broken = [
      ...migrations.slice(0, 1),
      {
        version: 2,
        description: 'fails half way',
        up(db: Database.Database) {
          db.exec('CREATE TABLE half (x INTEGER) STRICT');
          throw new Error('boom');
        },
      },
    ];
    expect(() => Store.open(path, { migrations: broken })).toThrow('boom');
    const check = new Database(path);
    expect(check.pragma('user_version', { simple: true })).toBe(1);
    expect(check.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'`).get()).toEqual({ n: 0 });
    expect(check.prepare(`SELECT name FROM datasets`).all()).toEqual([{ name: 'kept' }]);
    check.close();
  });

  it('lets several processes open a new workspace at once', async () => {
    const path = dbPath();
    const { spawn } = await import('node:child_process');
    const script = `import { Store } from ${JSON.stringify(new URL('../../src/core/store/Store.ts', import.meta.url).href)}; Store.open(${JSON.stringify(path)}).close();`;
    const codes = await Promise.all(
      Array.from({ length: 4 }, () => new Promise<number | null>((resolve) => spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' }).on('close', resolve))),
    );
    expect(codes).toEqual([0, 0, 0, 0]);
    const store = Store.open(path);
    expect(store.schemaVersion).toBe(migrations.length);
    store.close();
  });

  it('cascades dataset removal to its samples', () => {
    const store = Store.open(dbPath());
    store.db.prepare(`INSERT INTO datasets (name, role, format, source_path, state, created_at) VALUES ('d', 'seed', 'text', '/x', 'ready', 'now')`).run();
    store.db.prepare(`INSERT INTO samples (dataset_id, ordinal, source_line, content_hash, turns) VALUES (1, 0, 1, 'h', '[]')`).run();
    store.db.prepare('DELETE FROM datasets WHERE id = 1').run();
    expect(store.db.prepare('SELECT count(*) AS n FROM samples').get()).toEqual({ n: 0 });
    expect(() => store.db.prepare(`INSERT INTO samples (dataset_id, ordinal, source_line, content_hash, turns) VALUES (9, 0, 1, 'h', '[]')`).run()).toThrow(/FOREIGN KEY/);
    store.close();
  });
});
