import { parseArgs } from 'node:util';
import { SaeRegistry } from '../../../core/sae/SaeRegistry.ts';
import type { CliContext } from '../../CliContext.ts';
import { formatTable } from '../../formatTable.ts';
import { recordSummary } from './saeCliSupport.ts';

export const usage = 'facet sae list';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  parseArgs({ args: argv, allowPositionals: false, options: {} });
  const records = new SaeRegistry(ctx.openStore(), ctx.home).list();
  if (ctx.json) {
    ctx.printJson(records.map(recordSummary));
    return 0;
  }
  if (records.length === 0) {
    ctx.out('No SAEs registered. Import one with: facet sae import <path>');
    return 0;
  }
  ctx.out(
    formatTable(
      ['name', 'architecture', 'd_in', 'd_sae', 'k', 'layer', 'model', 'format', 'sha256'],
      records.map((r) => [r.name, r.architecture, r.dIn, r.dSae, r.k ?? '-', r.layer ?? '?', r.modelFamily ?? '?', r.format, r.hash.slice(0, 12)]),
    ),
  );
  return 0;
}
