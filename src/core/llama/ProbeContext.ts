import { availableParallelism } from 'node:os';
import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import { fromNativeError } from './fromNativeError.ts';
import { planPromptSharing } from './planPromptSharing.ts';
import { defaultThreadCount } from './physicalCoreCount.ts';
import type { NativeCaptureResult, NativeContext, NativeModel } from './ProbeAddon.ts';
import type { ProbeModel } from './ProbeModel.ts';

export interface ProbeContextOptions {
  /** Total tokens the context holds (all parallel sequences together). Defaults to min(4096, training context). */
  contextSize?: number;
  /** Tokens per decode call (= micro-batch). Defaults to min(512, contextSize). */
  batchSize?: number;
  /** Parallel sequences (samples packed into one decode, or generation candidates). Defaults to 8. */
  sequences?: number;
  /** CPU threads. Defaults to the physical core count. */
  threads?: number;
  /** KV cache type. 'f32' also turns flash attention off (exact but slower). Defaults to 'f16'. */
  kv?: 'f16' | 'f32';
}

export interface CaptureOptions {
  /** 0-based llama.cpp block indices (`l_out-<L>`, the residual stream after block L). */
  layers: readonly number[];
  /** Stop the graph after the deepest wanted layer. Defaults to true. */
  earlyStop?: boolean;
  /** Tokens per native call (one chunk handed over at a time). Defaults to 8192. */
  chunkTokens?: number;
  signal?: AbortSignal;
  /** Samples done so far, of the total. */
  onProgress?: (doneSamples: number, totalSamples: number) => void;
}

/** Residuals of a run of consecutive samples. */
export interface CaptureChunk {
  /** Index of the chunk's first sample in the input. */
  firstSample: number;
  /** Token count of each sample of the chunk. */
  lengths: number[];
  /** Per requested layer: [sum(lengths), nEmbd] row-major, samples in order. */
  activations: Map<number, Float32Array>;
  /** llama_decode calls, and how many of them stopped the graph after the deepest wanted layer. */
  decodes: number;
  earlyStoppedDecodes: number;
}

export interface CaptureResult {
  nEmbd: number;
  /** Row offset of each sample in the activation matrices. */
  offsets: number[];
  lengths: number[];
  /** Per requested layer: [total tokens, nEmbd] row-major. */
  activations: Map<number, Float32Array>;
  decodes: number;
  earlyStoppedDecodes: number;
}

export interface SteeringOptions {
  /** n_embd floats added to the residual stream. */
  vector: Float32Array;
  /** Block range [first, last] (inclusive, 0-based; first ≥ 1) or one block. */
  layers: number | readonly [number, number];
  /** Multiplier of the vector. Defaults to 1. */
  scale?: number;
}

export interface GenerateOptions {
  /** Candidates sampled in parallel from the same prompt. Defaults to 1. */
  n?: number;
  maxTokens?: number;
  /** 0 = greedy. Defaults to 0.8. */
  temperature?: number;
  /** Defaults to 0.95. */
  topP?: number;
  /** 0 = off. Defaults to 40. */
  topK?: number;
  /** Defaults to 0.05. */
  minP?: number;
  /** 1 = off. Defaults to 1. */
  repeatPenalty?: number;
  /** Candidate i uses seed + i. Defaults to 0. */
  seed?: number;
  /** Generation ends when one of these appears (it is cut from the text). */
  stop?: readonly string[];
  /** GBNF grammar text (root rule `root`). */
  grammar?: string;
  /** JSON schema the output must follow (converted to GBNF). */
  jsonSchema?: Record<string, unknown>;
  signal?: AbortSignal;
  /** Tokens generated so far (all candidates) of at most n × maxTokens; polled about every 100 ms. */
  onProgress?: (doneTokens: number, totalTokens: number) => void;
}

export interface GeneratedText {
  text: string;
  tokens: Int32Array;
  finish: 'eog' | 'length' | 'stop';
}

/**
 * Bounds of a context, checked before llama.cpp sees them (it asserts on a context under 8
 * tokens, and a huge context or thread count exhausts the machine instead of failing).
 */
export const contextLimits = {
  minContextSize: 8,
  /**
   * The largest context is the model's training context, but at least this many tokens: small
   * models (the forge's test models) may run past their training context, as llama.cpp allows
   * with a warning; it is also the limit when the model does not state its training context.
   */
  minMaxContextSize: 4096,
  /** llama.cpp's LLAMA_MAX_SEQ. */
  maxSequences: 256,
  /** Threads may be at most this many times the logical core count. */
  threadsPerLogicalCore: 4,
} as const;

/** CONTEXT_OUT_OF_RANGE / THREADS_OUT_OF_RANGE / INVALID_ARGUMENT for options outside {@link contextLimits}. */
export function checkContextLimits(path: string, nCtxTrain: number, options: { contextSize: number; sequences: number; threads: number }): void {
  const maxContext = Math.max(nCtxTrain, contextLimits.minMaxContextSize);
  if (options.contextSize < contextLimits.minContextSize || options.contextSize > maxContext) {
    const limit = nCtxTrain >= contextLimits.minMaxContextSize ? `the model's training context ${nCtxTrain}` : `${maxContext} (the model's training context is ${nCtxTrain > 0 ? nCtxTrain : 'not stated'}; Facet allows up to ${contextLimits.minMaxContextSize} then)`;
    throw new FacetError(
      'CONTEXT_OUT_OF_RANGE',
      `A context of ${options.contextSize} tokens is outside ${contextLimits.minContextSize} … ${maxContext} for ${path}: at least ${contextLimits.minContextSize} tokens, at most ${limit}. Pass a --context in that range (or leave it out for the default).`,
      { path, contextSize: options.contextSize, min: contextLimits.minContextSize, max: maxContext },
    );
  }
  if (options.sequences > contextLimits.maxSequences) {
    throw new FacetError('INVALID_ARGUMENT', `${options.sequences} parallel sequences exceed llama.cpp's limit of ${contextLimits.maxSequences}. Use fewer.`, { sequences: options.sequences, max: contextLimits.maxSequences });
  }
  const maxThreads = contextLimits.threadsPerLogicalCore * availableParallelism();
  if (options.threads < 1 || options.threads > maxThreads) {
    throw new FacetError(
      'THREADS_OUT_OF_RANGE',
      `${options.threads} threads is outside 1 … ${maxThreads} (${contextLimits.threadsPerLogicalCore} × the ${availableParallelism()} logical cores of this machine). Pass a smaller --threads, or leave it out for the physical core count.`,
      { threads: options.threads, min: 1, max: maxThreads },
    );
  }
}

/** Tokens per capture call: bounds memory and sets how often progress and cancellation are seen. */
const defaultChunkTokens = 8192;

/**
 * A llama.cpp context of a {@link ProbeModel}: residual capture, steering and generation. Calls
 * run one at a time, off the JS thread.
 */
export class ProbeContext {
  readonly model: ProbeModel;
  readonly contextSize: number;
  readonly batchSize: number;
  readonly sequences: number;
  readonly threads: number;
  readonly kv: 'f16' | 'f32';
  private native: NativeContext | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly disposeListeners: (() => void)[] = [];

  private constructor(model: ProbeModel, native: NativeContext, options: Required<ProbeContextOptions>) {
    this.model = model;
    this.native = native;
    this.contextSize = options.contextSize;
    this.batchSize = options.batchSize;
    this.sequences = options.sequences;
    this.threads = options.threads;
    this.kv = options.kv;
  }

  static async create(model: ProbeModel, nativeModel: NativeModel, options: ProbeContextOptions): Promise<ProbeContext> {
    const contextSize = options.contextSize ?? Math.min(4096, model.info.nCtxTrain > 0 ? model.info.nCtxTrain : 4096);
    const resolved: Required<ProbeContextOptions> = {
      contextSize,
      batchSize: Math.min(options.batchSize ?? 512, contextSize),
      sequences: options.sequences ?? 8,
      threads: options.threads ?? defaultThreadCount(),
      kv: options.kv ?? 'f16',
    };
    for (const [name, value] of Object.entries(resolved)) {
      if (typeof value === 'number' && (!Number.isInteger(value) || (value < 1 && name !== 'contextSize' && name !== 'threads'))) {
        throw new FacetError('INVALID_ARGUMENT', `Context option ${name} must be a positive integer (got ${value}).`);
      }
    }
    checkContextLimits(model.path, model.info.nCtxTrain, resolved);
    let native: NativeContext;
    try {
      native = await model.backend.addon.createContext(nativeModel, {
        nCtx: resolved.contextSize,
        nBatch: resolved.batchSize,
        nUbatch: resolved.batchSize,
        nSeqMax: resolved.sequences,
        threads: resolved.threads,
        kvF32: resolved.kv === 'f32',
        flashAttn: resolved.kv === 'f32' ? 0 : -1,
      });
    } catch (error) {
      throw fromNativeError(error, model.path, { path: model.path });
    }
    return new ProbeContext(model, native, resolved);
  }

  private get handle(): NativeContext {
    if (this.native === undefined) throw new FacetError('INVALID_ARGUMENT', `A context of ${this.model.path} was used after dispose().`);
    return this.native;
  }

  /** Runs calls one after another; a failed call does not block the next. */
  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async withAbort<T>(signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> {
    throwIfAborted(signal);
    const native = this.handle;
    const onAbort = (): void => native.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await task();
    } catch (error) {
      throw fromNativeError(error, this.model.path, { path: this.model.path });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private async withProgress<T>(total: number, onProgress: ((done: number, total: number) => void) | undefined, task: () => Promise<T>): Promise<T> {
    if (onProgress === undefined) return task();
    const native = this.handle;
    onProgress(0, total);
    const timer = setInterval(() => onProgress(native.progress(), total), 100);
    try {
      return await task();
    } finally {
      clearInterval(timer);
      onProgress(native.progress(), total);
    }
  }

  private checkLayers(layers: readonly number[]): number[] {
    const nLayer = this.model.info.nLayer;
    if (layers.length === 0) throw new FacetError('INVALID_ARGUMENT', 'Name at least one layer to capture.');
    for (const layer of layers) {
      if (!Number.isInteger(layer) || layer < 0 || layer >= nLayer) {
        throw new FacetError('LAYER_OUT_OF_RANGE', `Layer ${layer} does not exist in ${this.model.path}: layers are 0-based llama.cpp block indices 0..${nLayer - 1} (l_out-<L>).`, { layer, blocks: nLayer });
      }
    }
    return [...new Set(layers)].sort((a, b) => a - b);
  }

  /**
   * Captures `l_out-<L>` for every token of every sample and hands it over in chunks of
   * consecutive samples (memory stays bounded for large datasets).
   */
  async captureChunks(samples: readonly Int32Array[], options: CaptureOptions, onChunk: (chunk: CaptureChunk) => void | Promise<void>): Promise<void> {
    const layers = this.checkLayers(options.layers);
    const limit = this.contextSize;
    samples.forEach((tokens, index) => {
      if (tokens.length === 0) throw new FacetError('INVALID_ARGUMENT', `Sample ${index} has no tokens.`);
      if (tokens.length > limit) {
        throw new FacetError('PROMPT_TOO_LONG', `Sample ${index} has ${tokens.length} tokens but the context of ${this.model.path} holds ${limit}. Truncate the samples or use a larger context size.`, { sample: index, tokens: tokens.length, contextSize: limit });
      }
    });
    const layerArray = Int32Array.from(layers);
    const chunkTokens = options.chunkTokens ?? defaultChunkTokens;
    const groups: [number, number][] = [];
    for (let start = 0; start < samples.length; ) {
      let end = start;
      let tokens = 0;
      while (end < samples.length && (end === start || tokens + samples[end]!.length <= chunkTokens)) tokens += samples[end++]!.length;
      groups.push([start, end]);
      start = end;
    }
    const run = ([start, end]: [number, number]): Promise<NativeCaptureResult> =>
      this.serialize(() => this.withAbort(options.signal, () => this.handle.capture(samples.slice(start, end) as Int32Array[], layerArray, options.earlyStop ?? true)));
    options.onProgress?.(0, samples.length);
    // The next group decodes (off the JS thread) while the consumer handles the current one.
    let pending: Promise<NativeCaptureResult> | undefined = groups.length > 0 ? run(groups[0]!) : undefined;
    try {
      for (let index = 0; index < groups.length; index++) {
        const [start, end] = groups[index]!;
        const result: NativeCaptureResult = await pending!;
        pending = index + 1 < groups.length ? run(groups[index + 1]!) : undefined;
        const activations = new Map<number, Float32Array>();
        layers.forEach((layer, slot) => activations.set(layer, result.layers[slot]!));
        await onChunk({ firstSample: start, lengths: samples.slice(start, end).map((sample) => sample.length), activations, decodes: result.calls, earlyStoppedDecodes: result.earlyStoppedCalls });
        options.onProgress?.(end, samples.length);
      }
    } finally {
      if (pending !== undefined) {
        this.native?.abort();
        await pending.catch(() => undefined);
      }
    }
  }

  /** Captures everything into one matrix per layer. */
  async capture(samples: readonly Int32Array[], options: CaptureOptions): Promise<CaptureResult> {
    const nEmbd = this.model.info.nEmbd;
    const lengths = samples.map((sample) => sample.length);
    const offsets: number[] = [];
    let total = 0;
    for (const length of lengths) {
      offsets.push(total);
      total += length;
    }
    const layers = this.checkLayers(options.layers);
    const activations = new Map(layers.map((layer) => [layer, new Float32Array(total * nEmbd)] as const));
    let decodes = 0;
    let earlyStoppedDecodes = 0;
    await this.captureChunks(samples, options, (chunk) => {
      decodes += chunk.decodes;
      earlyStoppedDecodes += chunk.earlyStoppedDecodes;
      const row = offsets[chunk.firstSample]!;
      for (const [layer, data] of chunk.activations) activations.get(layer)!.set(data, row * nEmbd);
    });
    return { nEmbd, offsets, lengths, activations, decodes, earlyStoppedDecodes };
  }

  /**
   * Adds `scale · vector` to the residual stream after each block in the range, for every later
   * capture and generation, until {@link clearSteering}. Block 0 cannot be steered (llama.cpp
   * ignores it), so the range must start at 1 or later.
   */
  async setSteering(options: SteeringOptions): Promise<void> {
    const { nLayer, nEmbd } = this.model.info;
    const [first, last] = typeof options.layers === 'number' ? [options.layers, options.layers] : options.layers;
    if (options.vector.length !== nEmbd) {
      throw new FacetError('INVALID_ARGUMENT', `The steering vector has ${options.vector.length} values; ${this.model.path} needs n_embd = ${nEmbd}.`);
    }
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last >= nLayer || first > last) {
      throw new FacetError('LAYER_OUT_OF_RANGE', `Steering layers ${first}..${last} are invalid for ${this.model.path}: use 1..${nLayer - 1} (llama.cpp cannot steer block 0).`, { first, last, blocks: nLayer });
    }
    const scale = options.scale ?? 1;
    // llama.cpp layout: n_embd floats per block, starting at block 1
    const data = new Float32Array(nEmbd * (nLayer - 1));
    for (let layer = first; layer <= last; layer++) {
      for (let i = 0; i < nEmbd; i++) data[(layer - 1) * nEmbd + i] = options.vector[i]! * scale;
    }
    await this.serialize(async () => {
      try {
        this.handle.setSteering(data, first, last);
      } catch (error) {
        throw fromNativeError(error, this.model.path);
      }
    });
  }

  async clearSteering(): Promise<void> {
    await this.serialize(async () => {
      try {
        this.handle.setSteering(null, 0, 0);
      } catch (error) {
        throw fromNativeError(error, this.model.path);
      }
    });
  }

  /** Samples `n` continuations of `prompt` (token ids, e.g. from `model.chatPrompt`), candidate i with seed + i. */
  async generate(prompt: Int32Array, options: GenerateOptions = {}): Promise<GeneratedText[]> {
    const n = options.n ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new FacetError('INVALID_ARGUMENT', `n must be a positive integer (got ${n}).`);
    return this.generateMany(Array.from({ length: n }, () => prompt), options);
  }

  /**
   * Continues many prompts together, as parallel sequences of one context (at most
   * `sequences`), prompt i with seed + i; one output per prompt, in order. A prefix prompts share
   * (a chat template and instructions, or the whole prompt for n candidates) is evaluated once and
   * its KV cells are reused (see planPromptSharing), so only each prompt's own tail costs a
   * forward pass.
   */
  async generateMany(prompts: readonly Int32Array[], options: Omit<GenerateOptions, 'n'> = {}): Promise<GeneratedText[]> {
    if (prompts.length === 0) return [];
    if (prompts.length > this.sequences) {
      throw new FacetError('INVALID_ARGUMENT', `${prompts.length} prompts exceed the ${this.sequences} parallel sequences of this context. Decode them in groups, or create the context with more sequences.`, { prompts: prompts.length, sequences: this.sequences });
    }
    if (prompts.some((prompt) => prompt.length === 0)) throw new FacetError('INVALID_ARGUMENT', 'Generation needs a non-empty prompt.');
    let grammar = options.grammar;
    if (options.jsonSchema !== undefined) {
      if (grammar !== undefined) throw new FacetError('INVALID_ARGUMENT', 'Give either a grammar or a JSON schema, not both.');
      try {
        grammar = (await this.model.backend.llama.createGrammarForJsonSchema(options.jsonSchema as never)).grammar;
      } catch (error) {
        throw new FacetError('INVALID_ARGUMENT', `The JSON schema cannot be turned into a grammar: ${error instanceof Error ? error.message : String(error)}`, {}, { cause: error });
      }
    }
    const maxTokens = options.maxTokens ?? 256;
    const sharing = planPromptSharing(prompts);
    const needed = sharing.ownTokens + prompts.length * maxTokens;
    if (needed > this.contextSize) {
      throw new FacetError(
        'PROMPT_TOO_LONG',
        `${prompts.length} prompt(s) (${sharing.ownTokens} tokens not shared between them) plus ${prompts.length} × ${maxTokens} new tokens exceed the context of ${this.contextSize} tokens. Shorten the prompts, lower maxTokens, decode fewer at once, or use a larger context.`,
        { ownTokens: sharing.ownTokens, prompts: prompts.length, maxTokens, contextSize: this.contextSize },
      );
    }
    const generated = await this.serialize(() =>
      this.withAbort(options.signal, () => this.withProgress(prompts.length * maxTokens, options.onProgress, () =>
        this.handle.generate([...prompts], sharing.donors, sharing.shared, {
          maxTokens,
          temperature: options.temperature ?? 0.8,
          topP: options.topP ?? 0.95,
          topK: options.topK ?? 40,
          minP: options.minP ?? 0.05,
          repeatPenalty: options.repeatPenalty ?? 1,
          repeatLastN: 64,
          seed: options.seed ?? 0,
          ...(grammar === undefined ? {} : { grammar, grammarRoot: 'root' }),
          stop: [...(options.stop ?? [])],
        }),
      )),
    );
    const decoder = new TextDecoder();
    return generated.map((item) => ({ text: decoder.decode(item.text), tokens: item.tokens, finish: item.finish }));
  }

  onDispose(listener: () => void): void {
    this.disposeListeners.push(listener);
  }

  dispose(): void {
    if (this.native === undefined) return;
    this.native.abort();
    this.native.dispose();
    this.native = undefined;
    for (const listener of this.disposeListeners) listener();
  }
}
