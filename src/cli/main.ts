import { FacetError, isAbortError, toWireError } from '../shared/FacetError.ts';
import { resolveFacetHome } from '../core/workspace/resolveFacetHome.ts';
import { createCliContext } from './CliContext.ts';
import { commandTable } from './commandTable.ts';

function usage(): string {
  const width = Math.max(...Object.keys(commandTable).map((name) => name.length));
  const lines = Object.entries(commandTable).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return [
    'Usage: facet <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Every command accepts --json for machine-readable output and --help for its options.',
    'Workspace: $FACET_HOME, else the platform user-data folder.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 1 : 0;
  }
  if (name === '--version') {
    process.stdout.write('facet 0.1.0\n');
    return 0;
  }
  const entry = commandTable[name];
  if (entry === undefined) {
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: 'INVALID_ARGUMENT', message: `Unknown command '${name}'.` } })}\n`);
    else process.stderr.write(`Error [INVALID_ARGUMENT]: unknown command '${name}'. Run 'facet --help' for the list of commands.\n`);
    return 2;
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nCancelling… (press Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ctx = createCliContext(resolveFacetHome(), json, controller.signal);
  try {
    const command = await entry.load();
    return await command.run(rest.filter((arg) => arg !== '--json'), ctx);
  } catch (caught) {
    ctx.progress.abandon();
    // node:util parseArgs rejects unknown options and values that look like options (-1).
    const code = (caught as { code?: unknown })?.code;
    const error =
      typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')
        ? new FacetError('INVALID_ARGUMENT', `${(caught as Error).message.replace(/\. To specify a positional argument.*$/s, '.')} See 'facet ${name} --help'.`)
        : caught;
    if (isAbortError(error)) {
      if (json) ctx.printJson({ error: { code: 'CANCELLED', message: 'Cancelled.' } });
      else ctx.err('Cancelled.');
      return 130;
    }
    const wire = toWireError(error);
    if (json) ctx.printJson({ error: wire });
    else if (error instanceof FacetError) ctx.err(`Error [${wire.code}]: ${wire.message}`);
    // One line for the cause; the stack only when asked for (FACET_DEBUG=1), since it helps us, not the user.
    else ctx.err(`Error [${wire.code}]: Facet hit a bug: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}${process.env['FACET_DEBUG'] ? `\n${(error as Error)?.stack ?? ''}` : ' (run again with FACET_DEBUG=1 for the stack trace, and report it)'}`);
    return error instanceof FacetError && error.code === 'INVALID_ARGUMENT' ? 2 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    ctx.close();
  }
}
