import Database from 'better-sqlite3';
import { databasePath } from '../../src/core/workspace/resolveFacetHome.ts';

/**
 * Stops process `pid` (SIGSTOP) at a moment it holds no write transaction on the workspace in
 * `home`, so other processes can still write (a cancel request) while it stands still: retried
 * until a write lock can be taken at once. Resume it with `process.kill(pid, 'SIGCONT')`.
 */
export async function stopOutsideTransaction(pid: number, home: string): Promise<void> {
  const db = new Database(databasePath(home), { timeout: 0 });
  try {
    for (;;) {
      process.kill(pid, 'SIGSTOP');
      try {
        db.exec('BEGIN IMMEDIATE');
        db.exec('ROLLBACK');
        return;
      } catch {
        process.kill(pid, 'SIGCONT');
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    }
  } finally {
    db.close();
  }
}
