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

/** One entry of a path completion on the engine's machine. */
export interface PathEntry {
  name: string;
  /** Absolute path; folders end with the path separator, so choosing one continues the completion. */
  path: string;
  kind: 'file' | 'folder';
  sizeBytes: number | null;
}

/** The entries of the typed folder that start with the typed rest (`models.completePath`). */
export interface PathCompletion {
  /** The folder listed. */
  folder: string;
  entries: PathEntry[];
  /** More entries matched than were returned. */
  truncated: boolean;
}

/** What loading a model would take and what the machine has (`models.estimate`), before loading it. */
export interface ModelLoadEstimate {
  model: string;
  path: string;
  /** Elements of all tensors in the GGUF. */
  parameterCount: number;
  fileBytes: number;
  /** Bytes of the tensors' data. */
  weightsBytes: number;
  contextSize: number;
  kvType: 'f16' | 'f32';
  /** 2 · blocks · context · KV heads · head size · bytes per value; null when the GGUF does not state the attention shape. */
  kvCacheBytes: number | null;
  /** Weights + KV cache (compute buffers come on top). */
  totalBytes: number;
  ram: { totalBytes: number; freeBytes: number };
  /** llama.cpp backend node-llama-cpp selects (`cuda`, `vulkan`, `metal`, `cpu`). */
  backend: string;
  gpuDevices: string[];
  vram: { totalBytes: number; freeBytes: number } | null;
  /** Where the estimate fits: free VRAM, else free RAM, else neither. */
  fits: 'vram' | 'ram' | 'no';
}

/** One point of a job's metric series (`jobs.metrics`), e.g. SAE training's loss, L0 and dead features per step. */
export interface JobMetricPoint {
  seq: number;
  /** Units of the job's progress done at this point (SAE training: tokens). */
  done: number;
  values: Record<string, number>;
}
