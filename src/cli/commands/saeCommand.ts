import { FacetError } from '../../shared/FacetError.ts';
import type { CliContext, CommandRun } from '../CliContext.ts';

/**
 * `facet sae <subcommand>`. Each subcommand is a module `./sae/<name>.ts` exporting
 * `run(argv, ctx)` and `usage` (one line); adding one is one line in this table.
 */
const subcommands: Record<string, { summary: string; load: () => Promise<{ run: CommandRun; usage: string }> }> = {
  import: { summary: 'register an SAE (SAELens, sparsify, Llama Scope, Qwen-Scope, Gemma Scope, dictionary_learning, the paper .pth, Facet)', load: () => import('./sae/import.ts') },
  list: { summary: 'list registered SAEs', load: () => import('./sae/list.ts') },
  info: { summary: "show an SAE's config, layer, source and notes", load: () => import('./sae/info.ts') },
  remove: { summary: 'remove an SAE and its files', load: () => import('./sae/remove.ts') },
  encode: { summary: 'encode activations (.npy [N, d_in]) to codes (.npy dense and/or .jsonl sparse)', load: () => import('./sae/encode.ts') },
  decode: { summary: 'decode codes (.npy dense or .jsonl sparse) to reconstructions (.npy)', load: () => import('./sae/decode.ts') },
  train: { summary: "train a tied TopK SAE on a model's residuals over a dataset (the paper's recipe) and register it", load: () => import('./sae/train.ts') },
  drift: { summary: 'compare an SAE across model variants (e.g. quantized copies): fit, FAC and per-sample Jaccard against the first', load: () => import('./sae/drift.ts') },
  check: { summary: 'report L0, normalised MSE, FVU, dead/always-on features and fit warnings of an SAE on a model + dataset', load: () => import('./sae/check.ts') },
};

function help(): string {
  const width = Math.max(...Object.keys(subcommands).map((name) => name.length));
  return [
    'Usage: facet sae <subcommand> [options]   (--help after a subcommand for its options)',
    '',
    ...Object.entries(subcommands).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`),
    '',
    'Layers are llama.cpp 0-based l_out indices: SAELens blocks.L.hook_resid_post = L, HF hidden_states[i] = i-1.',
  ].join('\n');
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    ctx.out(help());
    return name === undefined ? 2 : 0;
  }
  const entry = subcommands[name];
  if (entry === undefined) throw new FacetError('INVALID_ARGUMENT', `Unknown subcommand 'facet sae ${name}'.\n\n${help()}`);
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.out(`Usage: ${command.usage}`);
    return 0;
  }
  return command.run(rest, ctx);
}
