import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FacetError } from '../../../shared/FacetError.ts';
import type { DecodeFileSummary } from '../../../core/sae/decodeCodesFile.ts';
import type { CliContext } from '../../CliContext.ts';
import { openCliEngine } from '../../openCliEngine.ts';
import { followJob } from '../../runEngineJob.ts';
import { parsePositiveInteger, parseProvider } from './saeCliSupport.ts';

export const usage = `facet sae decode --sae S --input codes.npy|codes.jsonl --out reconstruction.npy [--batch 256] [--threads N] [--provider auto|cpu|cuda]
  (a 'sae.decode' job of the workspace: 'facet jobs list' and a 'facet serve' on it follow it)`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, allowPositionals: false, options: { sae: { type: 'string' }, input: { type: 'string' }, out: { type: 'string' }, batch: { type: 'string' }, threads: { type: 'string' }, provider: { type: 'string' } } });
  if (values.sae === undefined || values.input === undefined || values.out === undefined) throw new FacetError('INVALID_ARGUMENT', `--sae, --input and --out are required.\nUsage: ${usage}`);
  const provider = parseProvider(values.provider);
  const batch = parsePositiveInteger(values.batch, 'batch', 256);
  const threads = values.threads !== undefined ? parsePositiveInteger(values.threads, 'threads', 1) : undefined;
  const engine = openCliEngine(ctx);
  try {
    const job = await engine.call('saes.decode', { sae: values.sae, input: resolve(values.input), out: resolve(values.out), batch, ...(threads !== undefined ? { threads } : {}), provider });
    const summary = (await followJob(engine, ctx, job, `Decoding with ${values.sae}`)).result as DecodeFileSummary;
    if (summary.note !== null) ctx.err(`note: ${summary.note}`);
    if (ctx.json) ctx.printJson({ sae: summary.sae, rows: summary.rows, dIn: summary.dIn, out: values.out });
    else ctx.out(`Decoded ${summary.rows} rows with '${summary.sae}' → ${values.out} [${summary.rows}, ${summary.dIn}].`);
    return 0;
  } finally {
    await engine.close();
  }
}
