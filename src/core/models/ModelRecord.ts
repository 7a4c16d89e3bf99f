/** A registered model as stored in the `models` table. */
export interface ModelRecord {
  id: number;
  name: string;
  /** Absolute path of the GGUF file. */
  path: string;
  /** SHA-256 of the whole file, hex. */
  contentHash: string;
  sizeBytes: number;
  architecture: string;
  blockCount: number | null;
  embeddingLength: number | null;
  headCount: number | null;
  headCountKv: number | null;
  contextLength: number | null;
  vocabSize: number | null;
  fileType: number | null;
  quantization: string;
  tokenizerModel: string | null;
  tokenizerPre: string | null;
  chatTemplate: string | null;
  /** `file` for a local file, else the URI it was pulled from. */
  source: string;
  /** ISO 8601. */
  addedAt: string;
}

export type NewModelRecord = Omit<ModelRecord, 'id'>;
