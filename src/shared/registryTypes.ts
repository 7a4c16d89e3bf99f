/** A registered GGUF model as the UI sees it. */
export interface ModelSummary {
  id: number;
  name: string;
  path: string;
  architecture: string;
  blockCount: number | null;
  embeddingLength: number | null;
  contextLength: number | null;
  quantization: string;
  tokenizerModel: string | null;
  sizeBytes: number;
  contentHash: string;
  addedAt: string;
}

/** A registered sparse autoencoder as the UI sees it. */
export interface SaeSummary {
  id: number;
  name: string;
  format: string;
  architecture: string;
  dIn: number;
  dSae: number;
  k: number | null;
  /** llama.cpp 0-based block index (`l_out-L`) the SAE reads. */
  layer: number | null;
  modelFamily: string | null;
  hash: string;
  createdAt: string;
}
