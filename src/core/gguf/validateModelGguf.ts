import { FacetError } from '../../shared/FacetError.ts';
import type { GgufHeader } from './GgufReader.ts';
import type { GgufValue } from './GgufValue.ts';
import { llamaArchitectures } from './llamaArchitectures.ts';

/**
 * Bounds a model GGUF must respect before llama.cpp sees it. `block_count` is llama.cpp's own
 * LLAMA_MAX_LAYERS and `expert_count` its LLAMA_MAX_EXPERTS (llama-hparams.h), which it asserts
 * (aborting the process) instead of reporting; the others are far above any published model.
 */
export const ggufModelLimits = {
  maxBlockCount: 512,
  maxEmbeddingLength: 65_536,
  maxFeedForwardLength: 1_048_576,
  maxHeadCount: 4_096,
  maxContextLength: 16_777_216,
  maxExpertCount: 1_024,
  maxVocabularySize: 4_194_304,
  /** ggml's TENSOR_ALIGNMENT: tensor data must start at a multiple of it in the file. */
  tensorAlignment: 32,
} as const;

/** Recurrent architectures write `attention.head_count` 0 (no attention); mamba also writes `feed_forward_length` 0. */
const withoutAttention = new Set(['mamba', 'mamba2', 'rwkv6', 'rwkv6qwen2', 'rwkv7', 'arwkv7']);
const withoutFeedForward = new Set(['mamba', 'mamba2']);
const ropeScalingTypes = new Set(['none', 'linear', 'yarn', 'longrope']);
/**
 * Architectures whose llama.cpp graph asserts `n_embd_head == n_rot` (src/models/<arch>.cpp at
 * commit de3ff815): for them rope.dimension_count must equal the head size.
 */
const ropeCoversHead = new Set([
  'apertus', 'arcee', 'arctic', 'baichuan', 'chameleon', 'codeshell', 'cogvlm', 'cohere2moe', 'dbrx', 'deci', 'deepseek', 'dots1', 'dream',
  'ernie4_5', 'ernie4_5-moe', 'exaone', 'exaone-moe', 'exaone4', 'falcon', 'granite', 'granite_swa', 'graniteswitch', 'grok', 'grovemoe',
  'hunyuan-moe', 'hunyuan_vl', 'hy_v3', 'internlm2', 'jais2', 'llada', 'llada-moe', 'llama', 'llama4', 'maincoder', 'mellum', 'minimax-01',
  'minimax-m2', 'mistral3', 'nemotron', 'olmo', 'olmo2', 'olmoe', 'orion', 'paddleocr', 'pangu-embedded', 'plamo', 'pockettts', 'qwen2',
  'qwen2moe', 'qwen2vl', 'qwen3', 'qwen3moe', 'qwen3vl', 'qwen3vlmoe', 'rnd1', 'seed_oss', 'smallthinker', 'smollm3', 'starcoder2', 'talkie', 'xverse',
]);
/** Architectures whose graph always uses multi-section RoPE: rope.dimension_sections must give a section above 0. */
const requiresRopeSections = new Set(['qwen2vl', 'qwen3vl', 'qwen3vlmoe', 'paddleocr', 'qwen35', 'qwen35moe', 'qwen4exp']);
/** Tokenizer models whose byte tokens (token_type 6) llama.cpp can decode (SentencePiece, Unigram, BPE); others abort on one. */
const tokenizersWithByteTokens = new Set(['llama', 't5', 'gpt2', 'hybriddna', 'whitespace', 'gemma4']);
/** Architectures whose graph asserts `n_expert > 0` (mixture-of-experts only). */
const requiresExperts = new Set(['bailingmoe2', 'glm4moe', 'grovemoe', 'llada-moe', 'smallthinker']);
const specialTokenKeys = ['bos', 'eos', 'eot', 'eom', 'unknown', 'separator', 'padding', 'mask', 'cls', 'fim_pre', 'fim_suf', 'fim_mid', 'fim_pad', 'fim_rep', 'fim_sep', 'prefix', 'suffix', 'middle'];

/**
 * Checks what llama.cpp would otherwise assert on (and abort the process): a known architecture,
 * positive and bounded hyperparameters, head/embedding divisibility, consistent expert counts,
 * and a vocabulary whose token strings are unique and whose special token ids exist. Throws
 * `MODEL_ARCH_UNSUPPORTED`, `GGUF_HPARAMS_INVALID` or `GGUF_VOCAB_INVALID`, naming the file, the
 * key and what to do.
 */
export function validateModelGguf(header: GgufHeader): void {
  const meta = header.metadata;
  const path = header.path;
  const architecture = meta.get('general.architecture');
  if (architecture?.type !== 'string' || architecture.value === '') {
    throw new FacetError('GGUF_INVALID', `${path} has no general.architecture key, so it is not a llama.cpp model. Pick a model GGUF (not an adapter or a vocabulary file).`, { path, key: 'general.architecture' });
  }
  const arch = architecture.value;
  if (!llamaArchitectures.has(arch)) {
    throw new FacetError(
      'MODEL_ARCH_UNSUPPORTED',
      `${path}: general.architecture is '${arch.slice(0, 100)}', which the bundled llama.cpp does not know. Use a model of a supported architecture (llama, mistral3, qwen2, qwen3, gemma3, …), or update Facet if the architecture is newer than it.`,
      { path, key: 'general.architecture', architecture: arch.slice(0, 100) },
    );
  }
  // llama.cpp maps the file and asserts that every tensor's data is 32-byte aligned (ggml's
  // TENSOR_ALIGNMENT); a smaller general.alignment can break that.
  for (const tensor of header.tensors) {
    if (tensor.fileOffset % ggufModelLimits.tensorAlignment !== 0) {
      throw new FacetError(
        'GGUF_INVALID',
        `${path}: tensor ${tensor.name} starts at byte ${tensor.fileOffset}, which is not a multiple of ${ggufModelLimits.tensorAlignment} (general.alignment is ${header.alignment}); llama.cpp needs ${ggufModelLimits.tensorAlignment}-byte aligned tensor data. Convert the model again with a current llama.cpp.`,
        { path, key: 'general.alignment', tensor: tensor.name, offset: tensor.fileOffset },
      );
    }
  }
  if (arch === 'clip') return; // llama.cpp reads no hyperparameters for clip (a projector file)
  validateHyperparameters(header, arch);
  validateVocabulary(header);
}

function validateHyperparameters(header: GgufHeader, arch: string): void {
  const meta = header.metadata;
  const path = header.path;
  const fail = (key: string, problem: string, fix = 'The file is damaged or was written by a broken converter: convert or download the model again.'): never => {
    throw new FacetError('GGUF_HPARAMS_INVALID', `${path}: ${key} ${problem}. ${fix}`, { path, key });
  };
  /** A required or optional unsigned scalar; per-layer arrays are checked element by element. */
  const read = (suffix: string, required: boolean): number[] | null => {
    const key = `${arch}.${suffix}`;
    const value = meta.get(key);
    if (value === undefined) {
      if (required) fail(key, 'is missing, and llama.cpp needs it');
      return null;
    }
    const values = integerValues(value);
    if (values === null) return fail(key, `has type ${value.type === 'array' ? `array of ${value.elementType}` : value.type}; it must be an unsigned integer`);
    return values;
  };
  const inRange = (suffix: string, values: readonly number[], min: number, max: number): void => {
    for (const value of values) {
      if (value < min || value > max) fail(`${arch}.${suffix}`, `is ${value}; it must be ${min} … ${max}`);
    }
  };

  const blockCount = read('block_count', true)!;
  if (blockCount.length !== 1) fail(`${arch}.block_count`, 'is an array; it must be one number');
  inRange('block_count', blockCount, 1, ggufModelLimits.maxBlockCount);
  const layers = blockCount[0]!;
  const perLayer = (suffix: string, values: readonly number[] | null): void => {
    if (values !== null && values.length !== 1 && values.length !== layers) fail(`${arch}.${suffix}`, `has ${values.length} per-layer values for ${layers} blocks`);
  };

  inRange('context_length', read('context_length', true)!, 1, ggufModelLimits.maxContextLength);
  const embedding = read('embedding_length', true)!;
  if (embedding.length !== 1) fail(`${arch}.embedding_length`, 'is an array; it must be one number');
  inRange('embedding_length', embedding, 1, ggufModelLimits.maxEmbeddingLength);
  const nEmbd = embedding[0]!;

  const feedForward = read('feed_forward_length', false);
  perLayer('feed_forward_length', feedForward);
  if (feedForward !== null) {
    const allowZero = withoutFeedForward.has(arch) || feedForward.length > 1; // hybrids have layers without a dense FFN
    inRange('feed_forward_length', feedForward, allowZero ? 0 : 1, ggufModelLimits.maxFeedForwardLength);
    if (!withoutFeedForward.has(arch) && Math.max(...feedForward) === 0) fail(`${arch}.feed_forward_length`, 'is 0 in every block');
  }

  const heads = read('attention.head_count', false);
  perLayer('attention.head_count', heads);
  const attentionFree = withoutAttention.has(arch);
  if (heads === null && !attentionFree) fail(`${arch}.attention.head_count`, `is missing, and a '${arch}' model has attention heads`);
  const headsKv = read('attention.head_count_kv', false);
  perLayer('attention.head_count_kv', headsKv);
  if (heads !== null) {
    const allowZero = attentionFree || heads.length > 1; // per-layer arrays: recurrent layers of hybrids have no heads
    inRange('attention.head_count', heads, allowZero ? 0 : 1, ggufModelLimits.maxHeadCount);
    if (!attentionFree && Math.max(...heads) === 0) fail(`${arch}.attention.head_count`, 'is 0 in every block');
    const hasKeyLength = meta.has(`${arch}.attention.key_length`) && meta.has(`${arch}.attention.value_length`);
    for (let il = 0; il < Math.max(heads.length, headsKv?.length ?? 1); il++) {
      const h = heads[heads.length === 1 ? 0 : il]!;
      const kv = headsKv === null ? h : headsKv[headsKv.length === 1 ? 0 : il]!;
      if (h === 0) {
        if (kv !== 0 && headsKv !== null && headsKv.length > 1) fail(`${arch}.attention.head_count_kv`, `is ${kv} in block ${il}, which has no attention heads`);
        continue;
      }
      if (!hasKeyLength && nEmbd % h !== 0) {
        fail(`${arch}.attention.head_count`, `is ${h}, which does not divide ${arch}.embedding_length ${nEmbd}`, 'The heads must split the embedding evenly (or the file must state attention.key_length and value_length): convert or download the model again.');
      }
      if (kv < 1 || kv > h || h % kv !== 0) {
        fail(`${arch}.attention.head_count_kv`, `is ${kv} for ${h} attention heads; it must be 1 … ${h} and divide ${h}`);
      }
    }
  }
  for (const suffix of ['attention.key_length', 'attention.value_length', 'rope.dimension_count']) {
    const values = read(suffix, false);
    if (values !== null) inRange(suffix, values, 1, ggufModelLimits.maxEmbeddingLength);
  }

  const keyLength = read('attention.key_length', false)?.[0];
  const valueLength = read('attention.value_length', false)?.[0];
  const ropeDims = read('rope.dimension_count', false)?.[0];
  if (ropeCoversHead.has(arch) && heads !== null && Math.max(...heads) > 0) {
    const headSize = valueLength ?? keyLength ?? nEmbd / Math.max(...heads);
    if (ropeDims !== undefined && ropeDims !== headSize) {
      fail(`${arch}.rope.dimension_count`, `is ${ropeDims}, but a '${arch}' model rotates whole heads of ${headSize}`);
    }
    if (keyLength !== undefined && valueLength !== undefined && keyLength !== valueLength) {
      fail(`${arch}.attention.value_length`, `is ${valueLength} but attention.key_length is ${keyLength}; a '${arch}' model needs them equal`);
    }
  }
  if (requiresRopeSections.has(arch)) {
    const sections = read('rope.dimension_sections', false);
    if (sections === null || !sections.slice(0, 3).some((v) => v > 0)) {
      fail(`${arch}.rope.dimension_sections`, `is ${sections === null ? 'missing' : `[${sections.join(', ')}]`}; a '${arch}' model needs a multi-section RoPE with a section above 0 among the first three`);
    }
  }
  for (const [key, value] of meta) {
    if (!key.startsWith(`${arch}.`) || !(value.type === 'float32' || value.type === 'float64' || (value.type === 'array' && (value.elementType === 'float32' || value.elementType === 'float64')))) continue;
    const values = value.type === 'array' ? (value.value as readonly number[]) : [value.value as number];
    if (values.some((v) => !Number.isFinite(v))) fail(key, 'is not a finite number (NaN or infinite)');
    if (/eps(ilon)?$/.test(key) && values.some((v) => v < 0)) fail(key, `is ${Math.min(...values)}; a normalisation epsilon cannot be negative`);
  }

  const expertCount = read('expert_count', false)?.[0] ?? 0;
  const expertUsed = read('expert_used_count', false) ?? [0];
  perLayer('expert_used_count', expertUsed.length > 1 ? expertUsed : null);
  const groups = read('expert_group_count', false)?.[0] ?? 0;
  const groupUsed = read('expert_group_used_count', false)?.[0] ?? 0;
  // llama.cpp drops a single "expert" of these dense variants before checking the counts
  const droppedSingleExpert = (arch === 'hunyuan-dense' || arch === 'hunyuan_vl') && expertCount <= 1;
  const experts = droppedSingleExpert ? 0 : expertCount;
  const usedMax = droppedSingleExpert ? 0 : Math.max(...expertUsed);
  if (experts > ggufModelLimits.maxExpertCount) fail(`${arch}.expert_count`, `is ${experts}; llama.cpp allows at most ${ggufModelLimits.maxExpertCount}`);
  if (requiresExperts.has(arch) && (experts === 0 || usedMax === 0)) {
    fail(`${arch}.expert_count`, `is ${experts} (${usedMax} used); a '${arch}' model is a mixture of experts and needs both above 0`);
  }
  if (usedMax > experts) fail(`${arch}.expert_used_count`, `is ${usedMax}, more than expert_count ${experts}`);
  if (experts > 0) {
    if (usedMax === 0) fail(`${arch}.expert_used_count`, `is 0 (or missing) for a model with ${experts} experts`);
    if (groups >= experts) fail(`${arch}.expert_group_count`, `is ${groups}; it must be less than expert_count ${experts}`);
    if (groups > 1 && (experts % groups !== 0 || groupUsed === 0 || groupUsed >= groups)) {
      fail(`${arch}.expert_group_count`, `(${groups}, ${groupUsed} used) does not split ${experts} experts evenly with 1 … ${groups - 1} groups used`);
    }
  } else if (groups !== 0) {
    fail(`${arch}.expert_group_count`, `is ${groups} for a model without experts`);
  }
  const nextn = read('nextn_predict_layers', false);
  if (nextn !== null) inRange('nextn_predict_layers', nextn, 0, layers);

  const ropeScaling = header.metadata.get(`${arch}.rope.scaling.type`);
  if (ropeScaling !== undefined && (ropeScaling.type !== 'string' || !ropeScalingTypes.has(ropeScaling.value))) {
    fail(`${arch}.rope.scaling.type`, `is ${ropeScaling.type === 'string' ? `'${ropeScaling.value.slice(0, 40)}'` : `a ${ropeScaling.type}`}; llama.cpp knows ${[...ropeScalingTypes].join(', ')}`);
  }
}

function validateVocabulary(header: GgufHeader): void {
  const meta = header.metadata;
  const path = header.path;
  const fail = (key: string, problem: string, details: Record<string, unknown> = {}): never => {
    throw new FacetError('GGUF_VOCAB_INVALID', `${path}: ${key} ${problem}. llama.cpp would abort on this vocabulary: convert or download the model again.`, { path, key, ...details });
  };
  const tokens = meta.get('tokenizer.ggml.tokens');
  const model = meta.get('tokenizer.ggml.model');
  if (tokens === undefined) {
    if (model?.type === 'string' && model.value !== 'none' && model.value !== 'no_vocab') fail('tokenizer.ggml.tokens', `is missing for a '${model.value}' tokenizer`);
    return;
  }
  if (tokens.type !== 'array' || tokens.elementType !== 'string') return fail('tokenizer.ggml.tokens', 'is not an array of strings');
  const list = tokens.value as readonly string[];
  if (list.length === 0) fail('tokenizer.ggml.tokens', 'is empty');
  if (list.length > ggufModelLimits.maxVocabularySize) fail('tokenizer.ggml.tokens', `holds ${list.length} tokens; at most ${ggufModelLimits.maxVocabularySize} are accepted`);
  // llama.cpp reads each token as a C string (cut at the first NUL byte) and maps an empty one
  // to "[EMPTY_<id>]" before indexing the strings.
  const seen = new Map<string, number>();
  for (let id = 0; id < list.length; id++) {
    const nul = list[id]!.indexOf('\u0000');
    const cString = nul < 0 ? list[id]! : list[id]!.slice(0, nul);
    const text = cString === '' ? `[EMPTY_${id}]` : cString;
    const first = seen.get(text);
    if (first !== undefined) {
      fail('tokenizer.ggml.tokens', `holds the token string ${JSON.stringify(text.slice(0, 60))} twice (ids ${first} and ${id}); every token string must be unique`, { firstId: first, id });
    }
    seen.set(text, id);
  }
  if (model?.type === 'string' && model.value === 'llama') {
    // SentencePiece falls back to byte tokens for text its pieces do not cover, looking them up
    // with std::map::at: a missing one throws inside llama.cpp instead of failing the call.
    for (let byte = 0; byte < 256; byte++) {
      const hex = `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
      if (!seen.has(hex) && !(byte > 0 && byte < 128 && seen.has(String.fromCharCode(byte)))) {
        fail('tokenizer.ggml.tokens', `has no token for the byte 0x${hex.slice(3, 5)} (${hex}), which a SentencePiece ('llama') vocabulary needs for byte fallback`, { byte });
      }
    }
  }
  const tokenTypes = meta.get('tokenizer.ggml.token_type');
  const tokenizer = model?.type === 'string' ? model.value : '';
  if (tokenTypes?.type === 'array' && !tokenizersWithByteTokens.has(tokenizer)) {
    const byteToken = (tokenTypes.value as readonly unknown[]).findIndex((type) => Number(type) === 6);
    if (byteToken >= 0) {
      fail('tokenizer.ggml.token_type', `marks token ${byteToken} as a byte token, which a '${tokenizer}' tokenizer cannot decode (llama.cpp aborts on it)`, { id: byteToken });
    }
  }
  for (const key of ['tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) {
    const value = meta.get(key);
    if (value === undefined) continue;
    if (value.type !== 'array') fail(key, 'is not an array');
    else if (value.value.length < list.length) fail(key, `has ${value.value.length} entries for ${list.length} tokens`);
  }
  for (const name of specialTokenKeys) {
    const key = `tokenizer.ggml.${name}_token_id`;
    const value = meta.get(key);
    if (value === undefined) continue;
    const ids = integerValues(value);
    if (ids === null || ids.length !== 1) fail(key, 'is not an unsigned integer');
    else if (ids[0]! >= list.length) fail(key, `is ${ids[0]}, outside the vocabulary of ${list.length} tokens`);
  }
}

/** Non-negative integers of an unsigned (or non-negative signed) scalar or array; null for other types. */
function integerValues(value: GgufValue): number[] | null {
  const integerType = (type: string): boolean => /^u?int(8|16|32|64)$/.test(type);
  if (value.type === 'array') {
    if (!integerType(value.elementType)) return null;
    const values = (value.value as readonly (number | bigint)[]).map(Number);
    if (values.length === 0 || values.length > ggufModelLimits.maxBlockCount) return null;
    return values.some((v) => v < 0) ? null : values;
  }
  if (!integerType(value.type)) return null;
  const number = Number(value.value);
  return number < 0 ? null : [number];
}
