import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FacetError } from '../../../shared/FacetError.ts';
import type { EncodeFileSummary } from '../../../core/sae/encodeActivationFile.ts';
import type { CliContext } from '../../CliContext.ts';
import { openCliEngine } from '../../openCliEngine.ts';
import { followJob } from '../../runEngineJob.ts';
import { parsePositiveInteger, parseProvider } from './saeCliSupport.ts';

export const usage = `facet sae encode --sae S --input acts.npy|acts.safetensors [--tensor activations] [--out codes.npy] [--sparse codes.jsonl] [--dense-relu] [--batch 256] [--threads N] [--provider auto|cpu|cuda]
  (a 'sae.encode' job of the workspace: 'facet jobs list' and a 'facet serve' on it follow it)`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: { sae: { type: 'string' }, input: { type: 'string' }, tensor: { type: 'string' }, out: { type: 'string' }, sparse: { type: 'string' }, 'dense-relu': { type: 'boolean', default: false }, batch: { type: 'string' }, threads: { type: 'string' }, provider: { type: 'string' } },
  });
  if (values.sae === undefined || values.input === undefined) throw new FacetError('INVALID_ARGUMENT', `--sae and --input are required.\nUsage: ${usage}`);
  if (values.out === undefined && values.sparse === undefined) throw new FacetError('INVALID_ARGUMENT', `Give --out codes.npy (dense), --sparse codes.jsonl, or both.\nUsage: ${usage}`);
  const provider = parseProvider(values.provider);
  const batch = parsePositiveInteger(values.batch, 'batch', 256);
  const threads = values.threads !== undefined ? parsePositiveInteger(values.threads, 'threads', 1) : undefined;
  const engine = openCliEngine(ctx);
  try {
    const job = await engine.call('saes.encode', {
      sae: values.sae,
      input: resolve(values.input),
      ...(values.tensor !== undefined ? { tensor: values.tensor } : {}),
      ...(values.out !== undefined ? { out: resolve(values.out) } : {}),
      ...(values.sparse !== undefined ? { sparse: resolve(values.sparse) } : {}),
      denseRelu: values['dense-relu'],
      batch,
      ...(threads !== undefined ? { threads } : {}),
      provider,
    });
    const summary = (await followJob(engine, ctx, job, `Encoding with ${values.sae}`)).result as EncodeFileSummary;
    if (ctx.json) ctx.printJson({ ...summary, out: values.out ?? null, sparse: values.sparse ?? null });
    else ctx.out(`Encoded ${summary.rows} rows with '${summary.sae}' on ${summary.provider}: ${summary.meanActive.toFixed(2)} active features per row${values.out !== undefined ? `, dense → ${values.out}` : ''}${values.sparse !== undefined ? `, sparse → ${values.sparse}` : ''}.`);
    return 0;
  } finally {
    await engine.close();
  }
}
