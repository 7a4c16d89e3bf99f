import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import { readGgufHeader } from '../gguf/GgufReader.ts';
import { gguf, type GgufValue } from '../gguf/GgufValue.ts';
import { writeGguf, type GgufTensorSpec } from '../gguf/GgufWriter.ts';
import { bundledVocabPath } from './BundledVocab.ts';
import { forgeChatTemplate } from './ForgeChatTemplates.ts';
import { forgeFamilySpecs, type ForgeFamily } from './ForgeFamily.ts';
import { SeededRandom } from './SeededRandom.ts';

export interface ForgeModelOptions {
  family: ForgeFamily;
  /** Number of transformer blocks. */
  layers: number;
  /** n_embd. */
  dim: number;
  /** Attention heads. Defaults to dim / 16 (head size 16). */
  heads?: number;
  /** KV heads (GQA). Defaults to heads / 2 when heads is even, else heads. */
  kvHeads?: number;
  /** Feed-forward width. Defaults to 2 * dim. */
  ff?: number;
  /** 0 … 2^32-1. Same options and seed → byte-identical file. */
  seed: number;
  /** Training context length written to the file. Defaults to 2048. */
  contextLength?: number;
  /** Storage type of the 2-D weight matrices (norms and biases stay F32). Defaults to F32. */
  weightType?: 'F32' | 'F16';
  /** Output file path. */
  out: string;
  /** Where extracted vocab files are cached. Defaults as in {@link bundledVocabPath}. */
  vocabCacheDir?: string;
}

export interface ForgedModel {
  path: string;
  family: ForgeFamily;
  architecture: string;
  layers: number;
  dim: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ff: number;
  vocabSize: number;
  contextLength: number;
  bytes: number;
}

export interface ForgeRunOptions {
  signal?: AbortSignal;
  onProgress?: (doneTensors: number, totalTensors: number) => void;
}

/**
 * Builds a tiny model of a real family: the family's real tokenizer (every `tokenizer.*` key of
 * the vocab file bundled with llama.cpp), a chat template in the family's format, and seeded
 * random weights scaled so activations stay of order one.
 */
export async function forgeModel(options: ForgeModelOptions, run: ForgeRunOptions = {}): Promise<ForgedModel> {
  const shape = resolveForgeShape(options);
  const spec = forgeFamilySpecs[options.family];
  const vocabPath = await bundledVocabPath(spec.vocab, options.vocabCacheDir === undefined ? {} : { cacheDir: options.vocabCacheDir });
  throwIfAborted(run.signal);
  const vocab = await readGgufHeader(vocabPath, run.signal === undefined ? {} : { signal: run.signal });
  const tokens = vocab.metadata.get('tokenizer.ggml.tokens');
  if (tokens?.type !== 'array' || tokens.elementType !== 'string') {
    throw new FacetError('GGUF_INVALID', `The vocab file ${vocabPath} has no tokenizer.ggml.tokens array. Delete the cache folder and retry.`, { path: vocabPath });
  }
  const vocabSize = tokens.value.length;
  const { layers, dim, heads, kvHeads, headDim, ff, contextLength } = shape;
  const arch = spec.architecture;
  const weightType = options.weightType ?? 'F32';

  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.str(arch)],
    ['general.name', gguf.str(`facet-forge-${options.family}-L${layers}-d${dim}-s${options.seed}`)],
    ['general.file_type', gguf.u32(weightType === 'F32' ? 0 : 1)],
    [`${arch}.context_length`, gguf.u32(contextLength)],
    [`${arch}.embedding_length`, gguf.u32(dim)],
    [`${arch}.block_count`, gguf.u32(layers)],
    [`${arch}.feed_forward_length`, gguf.u32(ff)],
    [`${arch}.attention.head_count`, gguf.u32(heads)],
    [`${arch}.attention.head_count_kv`, gguf.u32(kvHeads)],
    [`${arch}.attention.layer_norm_rms_epsilon`, gguf.f32(spec.rmsEpsilon)],
    [`${arch}.rope.freq_base`, gguf.f32(spec.ropeFreqBase)],
    [`${arch}.rope.dimension_count`, gguf.u32(headDim)],
    [`${arch}.vocab_size`, gguf.u32(vocabSize)],
    ['facet.forge.family', gguf.str(options.family)],
    ['facet.forge.seed', gguf.u32(options.seed)],
  ];
  for (const [key, value] of vocab.metadata) {
    if (key.startsWith('tokenizer.') && key !== 'tokenizer.chat_template') metadata.push([key, value]);
  }
  metadata.push(['tokenizer.chat_template', gguf.str(forgeChatTemplate(options.family))]);

  const seed = options.seed;
  const normal = (name: string, count: number, std: number, mean = 0) => (): Float32Array => new SeededRandom(`${seed}:${name}`).normalArray(count, std, mean);
  // Matrices: std 1/sqrt(fan_in) keeps projections of unit-RMS inputs of order one and gives
  // attention scores a real spread. Norm weights near 1.
  const matrix = (name: string, fanIn: number, fanOut: number): GgufTensorSpec => ({ name, dims: [fanIn, fanOut], type: weightType, data: normal(name, fanIn * fanOut, 1 / Math.sqrt(fanIn)) });
  const vector = (name: string, length: number, std: number, mean: number): GgufTensorSpec => ({ name, dims: [length], type: 'F32', data: normal(name, length, std, mean) });

  const tensors: GgufTensorSpec[] = [
    { name: 'token_embd.weight', dims: [dim, vocabSize], type: weightType, data: normal('token_embd.weight', dim * vocabSize, 0.25) },
    vector('output_norm.weight', dim, 0.1, 1),
  ];
  if (!spec.tiedEmbeddings) tensors.push(matrix('output.weight', dim, vocabSize));
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`;
    tensors.push(vector(`${p}attn_norm.weight`, dim, 0.1, 1));
    tensors.push(matrix(`${p}attn_q.weight`, dim, heads * headDim));
    tensors.push(matrix(`${p}attn_k.weight`, dim, kvHeads * headDim));
    tensors.push(matrix(`${p}attn_v.weight`, dim, kvHeads * headDim));
    if (spec.qkvBias) {
      tensors.push(vector(`${p}attn_q.bias`, heads * headDim, 0.1, 0));
      tensors.push(vector(`${p}attn_k.bias`, kvHeads * headDim, 0.1, 0));
      tensors.push(vector(`${p}attn_v.bias`, kvHeads * headDim, 0.1, 0));
    }
    tensors.push(matrix(`${p}attn_output.weight`, heads * headDim, dim));
    tensors.push(vector(`${p}ffn_norm.weight`, dim, 0.1, 1));
    tensors.push(matrix(`${p}ffn_gate.weight`, dim, ff));
    tensors.push(matrix(`${p}ffn_up.weight`, dim, ff));
    tensors.push(matrix(`${p}ffn_down.weight`, ff, dim));
  }

  const { bytes } = await writeGguf(options.out, { metadata, tensors }, run);
  return { path: options.out, family: options.family, architecture: arch, layers, dim, heads, kvHeads, headDim, ff, vocabSize, contextLength, bytes };
}

export interface ForgeShape {
  layers: number;
  dim: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ff: number;
  contextLength: number;
}

/** Validates the options and fills in the defaults; `INVALID_ARGUMENT` names what is wrong. */
export function resolveForgeShape(options: Omit<ForgeModelOptions, 'out'>): ForgeShape {
  const bad = (message: string): never => {
    throw new FacetError('INVALID_ARGUMENT', `Cannot forge this model: ${message}.`, { options: { ...options } });
  };
  const positiveInt = (value: number, name: string): number => {
    if (!Number.isInteger(value) || value < 1) bad(`${name} must be a positive integer (got ${value})`);
    return value;
  };
  if (!(options.family in forgeFamilySpecs)) bad(`unknown family ${String(options.family)} (use llama3, mistral or qwen2)`);
  if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff) bad(`seed must be an integer from 0 to 4294967295 (got ${options.seed})`);
  const layers = positiveInt(options.layers, 'layers');
  const dim = positiveInt(options.dim, 'dim');
  if (options.heads === undefined && dim % 16 !== 0) bad(`dim ${dim} is not a multiple of 16; pass heads explicitly`);
  const heads = positiveInt(options.heads ?? dim / 16, 'heads');
  if (dim % heads !== 0) bad(`dim ${dim} is not divisible by heads ${heads}`);
  const headDim = dim / heads;
  if (headDim % 2 !== 0) bad(`the head size dim/heads = ${headDim} must be even for rotary embeddings`);
  const kvHeads = positiveInt(options.kvHeads ?? (heads % 2 === 0 ? heads / 2 : heads), 'kvHeads');
  if (heads % kvHeads !== 0) bad(`heads ${heads} is not divisible by kvHeads ${kvHeads}`);
  const ff = positiveInt(options.ff ?? 2 * dim, 'ff');
  const contextLength = positiveInt(options.contextLength ?? 2048, 'contextLength');
  return { layers, dim, heads, kvHeads, headDim, ff, contextLength };
}
