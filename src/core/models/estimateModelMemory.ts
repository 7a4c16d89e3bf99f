/** Inputs of the memory estimate: the model's weights and attention shape. */
export interface MemoryEstimateInput {
  /** Bytes of the weights (the tensors' data). */
  weightsBytes: number;
  blockCount: number;
  headCountKv: number;
  /** Per-head size. */
  headDim: number;
}

export interface MemoryEstimate {
  weightsBytes: number;
  /** K and V for every block and position: 2 · blocks · context · kvHeads · headDim · bytes. */
  kvCacheBytes: number;
  totalBytes: number;
  contextSize: number;
  kvType: 'f16' | 'f32';
}

/**
 * Memory a loaded model needs for one context: weights plus KV cache. Compute buffers (tens to
 * hundreds of MB depending on batch size) come on top and are not included.
 */
export function estimateModelMemory(input: MemoryEstimateInput, contextSize: number, kvType: 'f16' | 'f32' = 'f16'): MemoryEstimate {
  const bytes = kvType === 'f16' ? 2 : 4;
  const kvCacheBytes = 2 * input.blockCount * contextSize * input.headCountKv * input.headDim * bytes;
  return { weightsBytes: input.weightsBytes, kvCacheBytes, totalBytes: input.weightsBytes + kvCacheBytes, contextSize, kvType };
}
