import { Store } from '../core/store/Store.ts';
import { requireWorkspaceFolder } from '../core/workspace/requireWorkspaceFolder.ts';
import { databasePath } from '../core/workspace/resolveFacetHome.ts';
import { ProgressReporter } from './ProgressReporter.ts';

/** What every `facet` command receives. */
export interface CliContext {
  /** Workspace folder (`FACET_HOME` or the platform user-data folder). */
  home: string;
  /** `--json` given: print one machine-readable JSON value on stdout, progress stays off. */
  json: boolean;
  out(text: string): void;
  err(text: string): void;
  printJson(value: unknown): void;
  /** Opens the workspace database once and returns the same Store on later calls. */
  openStore(): Store;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM. */
  signal: AbortSignal;
  progress: ProgressReporter;
}

export type CommandRun = (argv: string[], ctx: CliContext) => Promise<number>;

export function createCliContext(home: string, json: boolean, signal: AbortSignal): CliContext & { close(): void } {
  let store: Store | undefined;
  return {
    home,
    json,
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    printJson: (value) => process.stdout.write(`${JSON.stringify(value)}\n`),
    openStore: () => {
      // A FACET_HOME that is a file (or unreadable) is WORKSPACE_INVALID here too, not a crash inside SQLite.
      if (store === undefined) requireWorkspaceFolder(home);
      return (store ??= Store.open(databasePath(home)));
    },
    signal,
    progress: new ProgressReporter(process.stderr, { silent: json }),
    close: () => store?.close(),
  };
}
