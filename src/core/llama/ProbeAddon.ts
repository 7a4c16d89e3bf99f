/**
 * Shape of the native probe addon (`native/build/facet_probe.node`, sources in `native/src`).
 * Only this folder talks to it; everything else uses {@link ProbeModel} / {@link ProbeContext}.
 */

export interface NativeBindResult {
  library: string;
  path: string;
  devices: number;
  systemInfo: string;
}

export interface NativeGgufInspection {
  status: 'ok' | 'missing' | 'not-gguf' | 'unreadable' | 'truncated';
  fileSize: number;
  version: number;
  architecture: string;
  tensorCount: number;
  /** Byte offset where the last tensor's data ends. */
  dataEnd: number;
  blockCount: number;
  /** llama.cpp's own complaint when status is 'unreadable'. */
  log: string;
}

export interface NativeModelInfo {
  architecture: string;
  name: string;
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nHeadKv: number;
  nCtxTrain: number;
  nVocab: number;
  bos: number;
  eos: number;
  eot: number;
  addBos: boolean;
  sizeBytes: number;
  nParams: number;
  hasEncoder: boolean;
  isRecurrent: boolean;
  chatTemplate: string | null;
  description: string;
}

export interface NativeModel {
  info(): NativeModelInfo;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  detokenize(tokens: Int32Array, removeSpecial: boolean, unparseSpecial: boolean): string;
  /** Raw bytes of each token's text (special tokens rendered). */
  tokenPieces(tokens: Int32Array): Buffer[];
  applyChatTemplate(template: string | null, messages: readonly { role: string; content: string }[], addAssistant: boolean): string;
  dispose(): void;
}

export interface NativeContextOptions {
  nCtx: number;
  nBatch: number;
  nUbatch: number;
  nSeqMax: number;
  threads: number;
  kvF32: boolean;
  /** -1 auto, 0 off, 1 on. */
  flashAttn: -1 | 0 | 1;
}

export interface NativeCaptureResult {
  /** Per requested layer: [sum of sample lengths, nEmbd] row-major, samples in order. */
  layers: Float32Array[];
  calls: number;
  earlyStoppedCalls: number;
}

export interface NativeGenerateOptions {
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  repeatPenalty: number;
  repeatLastN: number;
  seed: number;
  grammar?: string;
  grammarRoot?: string;
  stop: string[];
}

export interface NativeGenerated {
  tokens: Int32Array;
  /** UTF-8 bytes (may end inside a character when cut by a length limit). */
  text: Buffer;
  finish: 'eog' | 'length' | 'stop';
}

export interface NativeContext {
  info(): { nCtx: number; nBatch: number; nUbatch: number; nSeqMax: number };
  capture(samples: Int32Array[], layers: Int32Array, earlyStop: boolean): Promise<NativeCaptureResult>;
  /**
   * One output per prompt, sampled with seed + i. Sequence i reuses the KV cells of the earlier
   * sequence `donors[i]` (or -1) for its first `shared[i]` tokens (see planPromptSharing).
   */
  generate(prompts: Int32Array[], donors: Int32Array, shared: Int32Array, options: NativeGenerateOptions): Promise<NativeGenerated[]>;
  /** data: nEmbd floats per layer starting at layer 1; null clears. */
  setSteering(data: Float32Array | null, layerStart: number, layerEnd: number): void;
  /** Tokens produced so far by the running generation (all candidates). */
  progress(): number;
  abort(): void;
  dispose(): void;
}

export interface ProbeAddon {
  abiVersion: number;
  bind(sonames: string[], backendDirectory: string | null): NativeBindResult;
  inspectGguf(path: string): Promise<NativeGgufInspection>;
  loadModel(path: string, options: { gpuLayers: number; useMmap: boolean }): Promise<NativeModel>;
  /** llama.cpp's own quantizer: `type` is a name such as q8_0, q4_k_m (lower case). */
  quantize(input: string, output: string, type: string, threads: number): Promise<void>;
  createContext(model: NativeModel, options: NativeContextOptions): Promise<NativeContext>;
}

/** Errors thrown by the addon carry the Facet error code here. */
export interface NativeCodedError extends Error {
  facetCode?: string;
}
