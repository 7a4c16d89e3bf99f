import { parseArgs } from 'node:util';
import { FacetError } from '../../../shared/FacetError.ts';
import { SAE_FORMAT_LAYOUTS, describeSaeConfig } from '../../../core/sae/SaeConfig.ts';
import { SaeRegistry } from '../../../core/sae/SaeRegistry.ts';
import type { CliContext } from '../../CliContext.ts';
import { recordSummary } from './saeCliSupport.ts';

export const usage = 'facet sae info <name|id|sha256-prefix>';

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  const reference = positionals[0];
  if (reference === undefined) throw new FacetError('INVALID_ARGUMENT', `Name the SAE.\nUsage: ${usage}`);
  const registry = new SaeRegistry(ctx.openStore(), ctx.home);
  const record = registry.get(reference);
  if (ctx.json) {
    ctx.printJson({ ...recordSummary(record), config: record.config, storage: registry.storagePath(record), sizeBytes: record.sizeBytes, createdAt: record.createdAt });
    return 0;
  }
  const c = record.config;
  const norm = c.normalisation.kind === 'scale' ? `scale × ${c.normalisation.factor}` : c.normalisation.kind;
  const range = c.source.thresholdRange;
  const thresholds = c.threshold !== null ? `, threshold ${c.threshold}` : range !== undefined ? `, per-feature thresholds ${range[0].toPrecision(4)} … ${range[1].toPrecision(4)}` : '';
  const lines = [
    `${record.name}  (${describeSaeConfig(c)})`,
    `  format           ${SAE_FORMAT_LAYOUTS[record.format] ?? record.format}`,
    `  architecture     ${c.architecture}${c.k !== null ? `, K=${c.k}${c.signedTopK === true ? ' (kept as they are, negative values too)' : ''}` : ''}${thresholds}`,
    `  d_in → d_sae     ${c.dIn} → ${c.dSae}`,
    `  decoder          ${c.tied ? 'tied (W_dec = W_encᵀ)' : 'separate W_dec'}; b_dec subtracted from input: ${c.applyBDecToInput ? 'yes' : 'no'}`,
    `  normalisation    ${norm}`,
    `  layer            ${c.layer === null ? 'unknown (re-import with --layer)' : `llama.cpp l_out-${c.layer}`}${c.source.hookName !== null ? ` (source: ${c.source.hookName})` : ''}`,
    `  model            ${c.modelFamily ?? 'unknown (re-import with --model)'}${c.modelFamily !== null ? ' (as the source names it)' : ''}`,
    `  activations in   ${c.source.activationUnits ?? 'model units'}`,
    `  source           ${c.source.path}`,
    `  identity         ${record.hash}${c.weightsHash !== undefined ? ` (weights sha256 ${c.weightsHash})` : ''}`,
    ...(c.source.transforms !== undefined && c.source.transforms.length > 0 ? [`  at import        ${c.source.transforms.join(', ')}`] : []),
    `  stored           ${registry.storagePath(record)} (${(record.sizeBytes / 2 ** 20).toFixed(1)} MiB)`,
    ...c.source.notes.map((note) => `  note             ${note}`),
  ];
  ctx.out(lines.join('\n'));
  return 0;
}
