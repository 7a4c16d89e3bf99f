import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobProcessExit, JobProcessLauncher } from '../core/jobs/JobRunner.ts';

/**
 * Job kinds that stay in the engine's process: they run no native model code, so a process of
 * their own would only add its start-up time.
 */
export const inProcessJobKinds: ReadonlySet<string> = new Set(['dataset.import', 'model.add']);

/** The two programs the engine starts processes of: one job, or one model's host. */
export type ProcessEntryName = 'job' | 'model';

/**
 * The file a process of `name` runs. From the sources (the CLI, `facet serve`, tests) that is the
 * TypeScript entry beside this module (`jobProcessEntry.ts`, `modelProcessEntry.ts`), which
 * Node 22 runs directly. In the desktop bundle, electron-vite builds both entries as inputs of
 * main (`out/main/jobProcess.js`, `out/main/modelProcess.js`); this module is then inside
 * `out/main/engine.js` or a chunk below it, so the bundled file is looked for here and one
 * folder up. `FACET_PROCESS_ENTRY_DIR` names the folder of bundled entries explicitly.
 */
export function processEntryPath(name: ProcessEntryName): string {
  const here = fileURLToPath(import.meta.url);
  const explicit = process.env['FACET_PROCESS_ENTRY_DIR'];
  const bundled = `${name}Process.js`;
  if (explicit !== undefined && explicit !== '') return join(explicit, bundled);
  if (here.endsWith('.ts')) return join(dirname(here), `${name}ProcessEntry.ts`);
  for (const dir of [dirname(here), dirname(dirname(here))]) {
    if (existsSync(join(dir, bundled))) return join(dir, bundled);
  }
  return join(dirname(here), bundled);
}

/**
 * Forks a process entry with an IPC channel. Under Electron (the desktop engine is itself a
 * utilityProcess, and `utilityProcess.fork` exists only in Electron's main process), the child
 * is Electron's own binary run as plain Node (`ELECTRON_RUN_AS_NODE=1`): it has the same Node
 * ABI as the native addons the app ships (better-sqlite3, node-llama-cpp, onnxruntime, the
 * probe addon), which a system Node would not. Elsewhere it is the Node running the engine.
 */
export function forkProcessEntry(entry: string, args: readonly string[], options: { serialization?: 'json' | 'advanced' } = {}): ChildProcess {
  const electron = process.versions['electron'] !== undefined;
  return fork(entry, [...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
    ...(options.serialization ? { serialization: options.serialization } : {}),
    ...(electron ? { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } } : {}),
  });
}

/**
 * Launches each job of the other kinds (they load models into llama.cpp or onnxruntime) as a
 * process of its own running {@link processEntryPath}('job'), over the same workspace: a native
 * abort there fails that job with MODEL_PROCESS_CRASHED and the engine keeps serving. Used by
 * `facet serve` and the desktop engine.
 */
export function jobProcessLauncher(home: string, options: { inProcessKinds?: ReadonlySet<string>; entry?: string } = {}): JobProcessLauncher {
  const entry = options.entry ?? processEntryPath('job');
  const inProcess = options.inProcessKinds ?? inProcessJobKinds;
  return {
    isolates: (kind) => !inProcess.has(kind),
    launch(id) {
      const child = forkProcessEntry(entry, [home, id]);
      const exited = new Promise<JobProcessExit>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', () => resolve({ code: -1, signal: null }));
      });
      return { exited, kill: (signal) => void child.kill(signal) };
    },
  };
}
