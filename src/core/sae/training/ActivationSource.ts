/**
 * A re-playable stream of residual activations for training and quality checks. Each chunk is
 * `[rows, dIn]` row-major float32 (for the llama probe: one dataset sample's tokens at t ≥ t0).
 * Every call to `chunks()` must yield the same sequence (same order, same rows), so epochs,
 * the validation split and resume-after-kill are deterministic. Chunks are never all held in
 * memory.
 */
export interface ActivationSource {
  readonly dIn: number;
  /** Number of chunks per pass, when known in advance (progress totals). */
  readonly chunkCount?: number;
  /**
   * Yields chunks from index `startChunk` (0-based) to the end. Sources that can skip cheaply
   * (a dataset cursor) should; others may iterate and drop.
   */
  chunks(options: { startChunk: number; signal?: AbortSignal }): AsyncIterable<Float32Array>;
  /** Releases models and files the source holds. */
  dispose?(): Promise<void> | void;
}

/**
 * Wraps a factory of plain `AsyncIterable<Float32Array>` streams (e.g. a generator over a file)
 * as an {@link ActivationSource}; resuming skips by iterating.
 */
export function activationSourceFromIterables(dIn: number, open: () => AsyncIterable<Float32Array>, chunkCount?: number): ActivationSource {
  return {
    dIn,
    ...(chunkCount !== undefined ? { chunkCount } : {}),
    async *chunks({ startChunk, signal }) {
      let index = 0;
      for await (const chunk of open()) {
        if (signal?.aborted) return;
        if (index >= startChunk) yield chunk;
        index += 1;
      }
    },
  };
}
