/**
 * How parallel prompts share KV cells: each prompt reuses the cells of the earlier prompt with
 * which it shares the longest prefix (keeping at least its own last token, whose logits it samples
 * from). Identical prompts (n candidates) then cost one token each after the first, and prompts
 * that share instructions pay for them once.
 */
export interface PromptSharing {
  /** Per prompt: the earlier prompt whose cells it reuses, or -1. */
  donors: Int32Array;
  /** Per prompt: how many leading tokens it reuses. */
  shared: Int32Array;
  /** Prompt tokens that must be evaluated: Σ (length − shared). */
  ownTokens: number;
}

function commonPrefix(a: Int32Array, b: Int32Array, limit: number): number {
  let same = 0;
  while (same < limit && a[same] === b[same]) same++;
  return same;
}

export function planPromptSharing(prompts: readonly Int32Array[]): PromptSharing {
  const donors = new Int32Array(prompts.length).fill(-1);
  const shared = new Int32Array(prompts.length);
  let ownTokens = 0;
  prompts.forEach((prompt, i) => {
    const limit = prompt.length - 1;
    for (let j = 0; j < i && shared[i]! < limit; j++) {
      const same = commonPrefix(prompt, prompts[j]!, Math.min(limit, prompts[j]!.length));
      if (same > shared[i]!) {
        shared[i] = same;
        donors[i] = j;
      }
    }
    ownTokens += prompt.length - shared[i]!;
  });
  return { donors, shared, ownTokens };
}
