import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { JobProcessExit, JobProcessLauncher } from '../core/jobs/JobRunner.ts';

/**
 * Job kinds that stay in the engine's process: they run no native model code, so a process of
 * their own would only add its start-up time.
 */
export const inProcessJobKinds: ReadonlySet<string> = new Set(['dataset.import', 'model.add']);

/**
 * Launches each job of the other kinds (they load models into llama.cpp or onnxruntime) as a
 * Node process of its own running {@link jobProcessEntry}, over the same workspace: a native
 * abort there fails that job with MODEL_PROCESS_CRASHED and the engine keeps serving. Needs the
 * TypeScript sources and a Node that runs them (the CLI and `facet serve`; not the bundled
 * desktop app).
 */
export function jobProcessLauncher(home: string, options: { inProcessKinds?: ReadonlySet<string> } = {}): JobProcessLauncher {
  const entry = fileURLToPath(new URL('./jobProcessEntry.ts', import.meta.url));
  const inProcess = options.inProcessKinds ?? inProcessJobKinds;
  return {
    isolates: (kind) => !inProcess.has(kind),
    launch(id) {
      const child = fork(entry, [home, id], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
      const exited = new Promise<JobProcessExit>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', () => resolve({ code: -1, signal: null }));
      });
      return { exited, kill: (signal) => void child.kill(signal) };
    },
  };
}
