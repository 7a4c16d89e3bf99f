import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh workspace folder for one test; `remove()` deletes it. */
export function tempHome(prefix = 'facet-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The shared public datasets beside the repository (../shared/data). */
export const sharedDataDir = join(import.meta.dirname, '..', '..', '..', 'shared', 'data');
