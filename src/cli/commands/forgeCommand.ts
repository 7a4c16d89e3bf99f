import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { FacetError } from '../../shared/FacetError.ts';
import { forgeModel } from '../../core/forge/forgeModel.ts';
import { isForgeFamily } from '../../core/forge/ForgeFamily.ts';
import type { CliContext } from '../CliContext.ts';

const help = `Usage:
  facet forge --family llama3|mistral|qwen2 --layers N --dim D [--heads H] [--kv-heads K] [--ff F]
              [--context C] [--f16] --seed S --out file.gguf

Builds a tiny test model with the family's real tokenizer (from the llama.cpp source bundled with
node-llama-cpp; needs git once to extract it), its chat template and seeded random weights.
The same arguments always give a byte-identical file.

  --heads     attention heads (default dim/16)     --kv-heads  KV heads (default heads/2)
  --ff        feed-forward width (default 2*dim)   --context   training context (default 2048)
  --f16       store weight matrices as F16 (default F32)`;

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new FacetError('INVALID_ARGUMENT', `--${name} must be a non-negative integer (got '${value}').\n\n${help}`);
  return Number(value);
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      family: { type: 'string' },
      layers: { type: 'string' },
      dim: { type: 'string' },
      heads: { type: 'string' },
      'kv-heads': { type: 'string' },
      ff: { type: 'string' },
      context: { type: 'string' },
      seed: { type: 'string' },
      f16: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    ctx.out(help);
    return 0;
  }
  const family = values.family;
  if (family === undefined || !isForgeFamily(family)) throw new FacetError('INVALID_ARGUMENT', `--family must be llama3, mistral or qwen2.\n\n${help}`);
  const layers = integer(values.layers, 'layers');
  const dim = integer(values.dim, 'dim');
  const seed = integer(values.seed, 'seed');
  if (layers === undefined || dim === undefined || seed === undefined || values.out === undefined) {
    throw new FacetError('INVALID_ARGUMENT', `--layers, --dim, --seed and --out are required.\n\n${help}`);
  }
  const heads = integer(values.heads, 'heads');
  const kvHeads = integer(values['kv-heads'], 'kv-heads');
  const ff = integer(values.ff, 'ff');
  const contextLength = integer(values.context, 'context');
  ctx.progress.start('Forging', undefined);
  const forged = await forgeModel(
    {
      family, layers, dim, seed, out: resolve(values.out), weightType: values.f16 ? 'F16' : 'F32',
      ...(heads !== undefined ? { heads } : {}),
      ...(kvHeads !== undefined ? { kvHeads } : {}),
      ...(ff !== undefined ? { ff } : {}),
      ...(contextLength !== undefined ? { contextLength } : {}),
    },
    { signal: ctx.signal, onProgress: (done, total) => ctx.progress.update(done, total) },
  );
  ctx.progress.finish();
  if (ctx.json) ctx.printJson(forged);
  else ctx.out(`Forged ${forged.path}: ${forged.family} (${forged.architecture}), ${forged.layers} blocks, n_embd ${forged.dim}, ${forged.heads} heads / ${forged.kvHeads} KV heads, ff ${forged.ff}, vocab ${forged.vocabSize}, ${(forged.bytes / 2 ** 20).toFixed(1)} MiB.`);
  return 0;
}
