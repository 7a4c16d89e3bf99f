import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const facetBin = join(import.meta.dirname, '..', '..', 'bin', 'facet.js');

export interface FacetRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `facet …` as a separate process with the given workspace, like a user would. */
export function runFacet(args: string[], home: string, options: { timeoutMs?: number } = {}): Promise<FacetRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [facetBin, ...args], { env: { ...process.env, FACET_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`facet ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `facet …` and leaves it running (for serve, or to kill mid-job). */
export function startFacet(args: string[], home: string): ChildProcess {
  return spawn(process.execPath, [facetBin, ...args], { env: { ...process.env, FACET_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with the first stdout line matching `pattern`. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let errors = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr: ${errors}`)), timeoutMs);
    child.stderr?.on('data', (chunk) => (errors += chunk));
    child.stdout?.on('data', (chunk) => {
      buffer += chunk;
      const line = buffer.split('\n').find((candidate) => pattern.test(candidate));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.on('close', (code) => reject(new Error(`process exited (${code}) before a line matching ${pattern}; stderr: ${errors}`)));
  });
}
