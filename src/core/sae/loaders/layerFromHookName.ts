/**
 * llama.cpp `l_out-<L>` index for a hook name, with a note saying how it was read:
 * SAELens/TransformerLens `blocks.L.hook_resid_post` → L; `blocks.L.hook_resid_pre` → L−1
 * (the residual entering block L left block L−1); HF module `layers.N` output =
 * `hidden_states[N+1]` → N. Anything else (MLP, attention, embeddings) → null.
 */
export function layerFromHookName(hook: string | null): { layer: number | null; note: string | null } {
  if (hook === null) return { layer: null, note: 'The SAE names no hook point; give --layer.' };
  let match = /^blocks\.(\d+)\.hook_resid_post$/.exec(hook);
  if (match) return { layer: Number(match[1]), note: null };
  match = /^blocks\.(\d+)\.hook_resid_pre$/.exec(hook);
  if (match) {
    const block = Number(match[1]);
    if (block === 0) return { layer: null, note: `${hook} reads the token embeddings, which llama.cpp exposes as no l_out tensor.` };
    return { layer: block - 1, note: `${hook} is the residual entering block ${block}, i.e. llama.cpp l_out-${block - 1}.` };
  }
  match = /(?:^|\.)layers[._](\d+)$/.exec(hook);
  if (match) return { layer: Number(match[1]), note: `${hook} output is HF hidden_states[${Number(match[1]) + 1}], i.e. llama.cpp l_out-${match[1]}.` };
  return { layer: null, note: `Hook ${hook} is not a residual-stream output Facet can capture; give --layer if it is one.` };
}
