import type { LlamaModel, Token } from 'node-llama-cpp';

/**
 * llama.cpp's logits for every position of one sequence, through node-llama-cpp:
 * `[T, vocab]` row-major. `exact` uses an F32 KV cache and no flash attention.
 */
export async function llamaCppLogits(model: LlamaModel, tokens: readonly number[], vocab: number, exact: boolean): Promise<Float64Array> {
  const context = await model.createContext({
    contextSize: Math.max(256, tokens.length + 16),
    threads: 1,
    ...(exact ? { flashAttention: false, experimentalKvCacheKeyType: 'F32' as const, experimentalKvCacheValueType: 'F32' as const } : {}),
  });
  try {
    const output = await context.getSequence().controlledEvaluate(tokens.map((token) => [token as Token, { generateNext: { logits: true } }]));
    const logits = new Float64Array(tokens.length * vocab);
    for (let t = 0; t < tokens.length; t++) {
      const row = output[t]?.next?.logits;
      if (row === undefined || row.size !== vocab) throw new Error(`No full logits row for position ${t}.`);
      for (const [token, value] of row) logits[t * vocab + token] = value;
    }
    return logits;
  } finally {
    await context.dispose();
  }
}
