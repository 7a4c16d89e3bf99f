import { FacetError } from '../../../shared/FacetError.ts';

/** Hook names that are recognisably not a residual-stream output, and what they read. */
const NON_RESIDUAL: Array<[RegExp, string]> = [
  [/hook_z$|attn\.hook_|hook_attn_out|self_attn|(?:^|[._])attn(?:$|[._])|(?:^|[-_])att(?:$|[-_])/i, 'an attention output'],
  [/hook_mlp_(?:in|out)|mlp\.hook_|ln2\.hook_normalized|(?:^|[._])mlp(?:$|[._])/i, 'an MLP input or output'],
];

/** What a non-residual hook reads (`an attention output`), or null when it may be a residual. */
export function nonResidualKind(hook: string): string | null {
  for (const [pattern, kind] of NON_RESIDUAL) if (pattern.test(hook)) return kind;
  return null;
}

/**
 * Refuses SAEs Facet cannot feed: Facet captures only llama.cpp `l_out-<L>` residual-stream
 * outputs, so a transcoder (reads one hook, writes another) or an SAE on attention or MLP
 * outputs is refused with `SAE_ARCH_UNKNOWN` naming its hook(s), the same way for every format.
 */
export function requireResidualHook(file: string, hookIn: string | null, hookOut: string | null = null): void {
  if (hookIn !== null && hookOut !== null && hookIn !== hookOut) {
    throw new FacetError(
      'SAE_ARCH_UNKNOWN',
      `${file}: this is a transcoder (it reads ${hookIn} and writes ${hookOut}), not an SAE of one residual stream. Facet captures only residual-stream outputs (llama.cpp l_out); use a residual SAE of the same release.`,
      { file, hookIn, hookOut },
    );
  }
  for (const hook of [hookIn, hookOut]) {
    if (hook === null) continue;
    const kind = nonResidualKind(hook);
    if (kind !== null) {
      throw new FacetError(
        'SAE_ARCH_UNKNOWN',
        `${file}: this SAE reads ${hook}, ${kind}, not a residual-stream output. Facet captures only residual-stream outputs (llama.cpp l_out), so it cannot feed it; use a residual SAE (hook_resid_post, layers.N, L<n>R, -res).`,
        { file, hook },
      );
    }
  }
}
