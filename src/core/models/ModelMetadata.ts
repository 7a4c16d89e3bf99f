import { FacetError } from '../../shared/FacetError.ts';
import { readGgufHeader, type GgufHeader } from '../gguf/GgufReader.ts';
import { llamaFileTypeName } from './llamaFileTypeName.ts';

/** What Facet knows about a GGUF model file without loading it. */
export interface ModelMetadata {
  architecture: string;
  /** `general.name`, if the file has one. */
  displayName: string | null;
  blockCount: number | null;
  embeddingLength: number | null;
  headCount: number | null;
  headCountKv: number | null;
  /** Per-head key size (`<arch>.attention.key_length`, else n_embd / heads). */
  headDim: number | null;
  contextLength: number | null;
  vocabSize: number | null;
  /** `general.file_type` (llama_ftype), null when absent. */
  fileType: number | null;
  /** e.g. `Q4_K_M`, `F16`; `~Q4_K` (guessed from the tensors) when the file does not say. */
  quantization: string;
  /** `tokenizer.ggml.model` (`gpt2`, `llama`, `bert`, …). */
  tokenizerModel: string | null;
  /** `tokenizer.ggml.pre` (`llama-bpe`, `qwen2`, …): the pre-tokenizer, i.e. the tokenizer family. */
  tokenizerPre: string | null;
  chatTemplate: string | null;
  /** Sum of the tensors' data sizes: the weights' memory footprint. */
  weightsBytes: number;
  sizeBytes: number;
}

/** Reads a GGUF's header and summarises it. Not a GGUF or truncated: the reader's coded errors. */
export async function readModelMetadata(path: string, options: { signal?: AbortSignal } = {}): Promise<ModelMetadata> {
  return summarizeGguf(await readGgufHeader(path, options));
}

export function summarizeGguf(header: GgufHeader): ModelMetadata {
  const meta = header.metadata;
  const architecture = meta.get('general.architecture');
  if (architecture?.type !== 'string' || architecture.value === '') {
    throw new FacetError('GGUF_INVALID', `${header.path} has no general.architecture key, so it is not a llama.cpp model. Pick a model GGUF (not an adapter or a vocabulary file).`, { path: header.path });
  }
  const arch = architecture.value;
  const number = (key: string): number | null => {
    const value = meta.get(key);
    if (value === undefined) return null;
    if (value.type === 'uint64' || value.type === 'int64') return Number(value.value);
    if (value.type === 'array' && value.elementType !== 'string' && value.elementType !== 'bool' && value.elementType !== 'uint64' && value.elementType !== 'int64') {
      const values = value.value as readonly number[];
      return values.length > 0 ? Math.max(...values) : null; // per-layer arrays (some architectures)
    }
    return typeof value.value === 'number' ? value.value : null;
  };
  const string = (key: string): string | null => {
    const value = meta.get(key);
    return value?.type === 'string' ? value.value : null;
  };
  const embeddingLength = number(`${arch}.embedding_length`);
  const headCount = number(`${arch}.attention.head_count`);
  const tokens = meta.get('tokenizer.ggml.tokens');
  const vocabSize = number(`${arch}.vocab_size`) ?? (tokens?.type === 'array' ? tokens.value.length : null);
  const fileType = number('general.file_type');
  const weightsBytes = header.tensors.reduce((sum, t) => sum + t.byteSize, 0);
  return {
    architecture: arch,
    displayName: string('general.name'),
    blockCount: number(`${arch}.block_count`),
    embeddingLength,
    headCount,
    headCountKv: number(`${arch}.attention.head_count_kv`) ?? headCount,
    headDim: number(`${arch}.attention.key_length`) ?? (embeddingLength !== null && headCount ? embeddingLength / headCount : null),
    contextLength: number(`${arch}.context_length`),
    vocabSize,
    fileType,
    quantization: (fileType !== null ? llamaFileTypeName(fileType) : undefined) ?? guessQuantization(header),
    tokenizerModel: string('tokenizer.ggml.model'),
    tokenizerPre: string('tokenizer.ggml.pre'),
    chatTemplate: string('tokenizer.chat_template'),
    weightsBytes,
    sizeBytes: header.fileSize,
  };
}

/** The most common type among the 2-D weight tensors, by bytes, marked as a guess. */
function guessQuantization(header: GgufHeader): string {
  const bytesByType = new Map<string, number>();
  for (const tensor of header.tensors) {
    if (tensor.dims.length < 2) continue;
    bytesByType.set(tensor.type.name, (bytesByType.get(tensor.type.name) ?? 0) + tensor.byteSize);
  }
  const top = [...bytesByType].sort((a, b) => b[1] - a[1])[0];
  return top === undefined ? 'unknown' : `~${top[0]}`;
}
