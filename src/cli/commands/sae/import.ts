import { parseArgs } from 'node:util';
import { FacetError } from '../../../shared/FacetError.ts';
import { SAE_FORMATS, describeSaeConfig, type SaeFormat } from '../../../core/sae/SaeConfig.ts';
import { SaeRegistry } from '../../../core/sae/SaeRegistry.ts';
import type { CliContext } from '../../CliContext.ts';
import { parseLayer, recordSummary } from './saeCliSupport.ts';

export const usage = `facet sae import <path> [--name N] [--layer L] [--model M] [--format ${SAE_FORMATS.join('|')}]`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { name: { type: 'string' }, layer: { type: 'string' }, model: { type: 'string' }, format: { type: 'string' } } });
  const path = positionals[0];
  if (path === undefined) throw new FacetError('INVALID_ARGUMENT', `Name the SAE folder or file to import.\nUsage: ${usage}`);
  if (values.format !== undefined && !(SAE_FORMATS as readonly string[]).includes(values.format)) {
    throw new FacetError('INVALID_ARGUMENT', `Unknown --format '${values.format}'. Use ${SAE_FORMATS.join(', ')}, or leave it out to detect.`);
  }
  const registry = new SaeRegistry(ctx.openStore(), ctx.home);
  const record = await registry.importSae(path, {
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(values.layer !== undefined ? { layer: parseLayer(values.layer) } : {}),
    ...(values.model !== undefined ? { modelFamily: values.model } : {}),
    ...(values.format !== undefined ? { format: values.format as SaeFormat } : {}),
    signal: ctx.signal,
    onProgress: (step) => {
      if (!ctx.json) ctx.err(`${step}…`);
    },
  });
  if (ctx.json) ctx.printJson(recordSummary(record));
  else {
    ctx.out(`Imported SAE '${record.name}' (${record.format}): ${describeSaeConfig(record.config)}, layer ${record.layer ?? 'unknown (pass --layer)'}, id ${record.hash.slice(0, 12)}.`);
    if (record.config.source.activationUnits !== undefined) ctx.out(`  activations in ${record.config.source.activationUnits}`);
    for (const note of record.config.source.notes) ctx.out(`  note: ${note}`);
  }
  return 0;
}
