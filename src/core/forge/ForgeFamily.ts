import type { BundledVocabName } from './BundledVocab.ts';

/** Model families the forge builds: llama.cpp architecture, tokenizer and numeric conventions. */
export type ForgeFamily = 'llama3' | 'mistral' | 'qwen2';

export const forgeFamilies: readonly ForgeFamily[] = ['llama3', 'mistral', 'qwen2'];

export interface ForgeFamilySpec {
  /** `general.architecture`. */
  architecture: 'llama' | 'qwen2';
  vocab: BundledVocabName;
  ropeFreqBase: number;
  rmsEpsilon: number;
  /** q/k/v projections carry biases (Qwen2). */
  qkvBias: boolean;
  /** No `output.weight`: logits use token_embd (tied embeddings, as Llama-3.2 1B and small Qwen2 models do). */
  tiedEmbeddings: boolean;
}

export const forgeFamilySpecs: Record<ForgeFamily, ForgeFamilySpec> = {
  llama3: { architecture: 'llama', vocab: 'llama-bpe', ropeFreqBase: 500_000, rmsEpsilon: 1e-5, qkvBias: false, tiedEmbeddings: true },
  mistral: { architecture: 'llama', vocab: 'llama-spm', ropeFreqBase: 10_000, rmsEpsilon: 1e-5, qkvBias: false, tiedEmbeddings: false },
  qwen2: { architecture: 'qwen2', vocab: 'qwen2', ropeFreqBase: 1_000_000, rmsEpsilon: 1e-6, qkvBias: true, tiedEmbeddings: true },
};

export function isForgeFamily(value: string): value is ForgeFamily {
  return (forgeFamilies as readonly string[]).includes(value);
}
