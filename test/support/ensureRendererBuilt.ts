import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = join(import.meta.dirname, '..', '..');

/** Builds the UI with electron-vite when out/renderer is missing (the test script builds it first). */
export async function ensureRendererBuilt(): Promise<void> {
  if (existsSync(join(root, 'out', 'renderer', 'index.html'))) return;
  await promisify(execFile)(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: root });
}
