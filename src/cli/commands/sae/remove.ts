import { parseArgs } from 'node:util';
import { FacetError } from '../../../shared/FacetError.ts';
import { SaeRegistry } from '../../../core/sae/SaeRegistry.ts';
import type { CliContext } from '../../CliContext.ts';
import { recordSummary } from './saeCliSupport.ts';

export const usage = 'facet sae remove <name|id|sha256-prefix>';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  const reference = positionals[0];
  if (reference === undefined) throw new FacetError('INVALID_ARGUMENT', `Name the SAE to remove.\nUsage: ${usage}`);
  const record = await new SaeRegistry(ctx.openStore(), ctx.home).remove(reference);
  if (ctx.json) ctx.printJson({ removed: recordSummary(record) });
  else ctx.out(`Removed SAE '${record.name}' and its files.`);
  return 0;
}
