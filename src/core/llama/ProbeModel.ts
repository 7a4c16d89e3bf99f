import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { ChatTurn } from '../../shared/datasetTypes.ts';
import { readGgufHeader } from '../gguf/GgufReader.ts';
import { validateModelGguf } from '../gguf/validateModelGguf.ts';
import { fromNativeError } from './fromNativeError.ts';
import { loadLlamaBackend, type LlamaBackend, type LlamaGpuChoice } from './LlamaBackend.ts';
import type { NativeModel, NativeModelInfo } from './ProbeAddon.ts';
import { renderJinjaChatTemplate } from './renderJinjaChatTemplate.ts';
import { ProbeContext, type ProbeContextOptions } from './ProbeContext.ts';

export interface ProbeModelOptions {
  /** Backend: 'auto' (CUDA, Vulkan, Metal, else CPU) or false for CPU. Defaults to 'auto'. */
  gpu?: LlamaGpuChoice;
  /** Blocks to offload to the GPU; -1 = all. Defaults to -1 on a GPU backend, 0 on CPU. */
  gpuLayers?: number;
  /** A chat template (Jinja text or a llama.cpp built-in name such as "llama3") instead of the model's own. */
  chatTemplate?: string;
  /**
   * 'jinja': render the template as Jinja (what Hugging Face does); 'builtin': llama.cpp's
   * template matcher (recognises common families, no Jinja); 'auto': Jinja, else built-in.
   * Defaults to 'auto'.
   */
  templateEngine?: 'auto' | 'jinja' | 'builtin';
  signal?: AbortSignal;
}

/** A sample as text (the user turn) or as a conversation. */
export type SampleInput = string | { text: string } | { turns: readonly ChatTurn[] };

export interface PrepareOptions {
  /** Wrap in the model's chat template. Defaults to true. */
  template?: boolean;
  /** Keep at most this many tokens (BOS and template included). Defaults to no limit. */
  maxTokens?: number;
}

/** A sample ready for the probe. */
export interface PreparedSample {
  tokens: Int32Array;
  /** First token after the chat-template prefix (or after BOS without a template). */
  t0: number;
}

/**
 * Architectures whose llama.cpp graph has no per-block residual `l_out-<i>` (encoders, recurrent
 * and audio models), refused before loading. Others are checked when the graph runs.
 */
const architecturesWithoutResidual = new Set([
  'bert', 'nomic-bert', 'nomic-bert-moe', 'jina-bert-v2', 'jina-bert-v3', 'modern-bert', 'neo-bert', 'eurobert',
  't5', 't5encoder', 'mamba', 'mamba2', 'rwkv6', 'rwkv6qwen2', 'rwkv7', 'arwkv7', 'wavtokenizer-dec', 'clip',
]);

/** A GGUF model loaded into the probe: tokenizer, chat template, contexts for capture and generation. */
export class ProbeModel {
  readonly path: string;
  readonly info: NativeModelInfo;
  readonly backend: LlamaBackend;
  /** The chat template in use (the option, else the model's), or null. */
  readonly chatTemplate: string | null;
  readonly templateEngine: 'auto' | 'jinja' | 'builtin';
  private native: NativeModel | undefined;
  private readonly contexts = new Set<ProbeContext>();

  private constructor(path: string, native: NativeModel, backend: LlamaBackend, options: ProbeModelOptions) {
    this.path = path;
    this.native = native;
    this.backend = backend;
    this.info = native.info();
    this.chatTemplate = options.chatTemplate ?? this.info.chatTemplate;
    this.templateEngine = options.templateEngine ?? 'auto';
  }

  static async load(path: string, options: ProbeModelOptions = {}): Promise<ProbeModel> {
    // Facet's own reader and checks first: llama.cpp aborts the process on some invalid headers
    // (zero blocks, duplicate token strings, …) instead of reporting them.
    validateModelGguf(await readGgufHeader(path, options.signal === undefined ? {} : { signal: options.signal }));
    const backend = await loadLlamaBackend(options.gpu === undefined ? {} : { gpu: options.gpu });
    throwIfAborted(options.signal);
    const inspection = await backend.addon.inspectGguf(path);
    switch (inspection.status) {
      case 'missing':
        throw new FacetError('MODEL_FILE_NOT_FOUND', `Model file ${path} vanished before it could be read. Check the path.`, { path });
      case 'not-gguf':
        throw new FacetError('GGUF_INVALID', `${path} is not a GGUF file (its first bytes are not "GGUF"). Pass a .gguf model file.`, { path });
      case 'unreadable':
        if (/only supports up to version/.test(inspection.log)) {
          throw new FacetError('GGUF_INVALID', `${path} uses a GGUF version this llama.cpp cannot read (${inspection.log.split('\n')[0]}). Convert the model with a current llama.cpp or update Facet.`, { path });
        }
        throw new FacetError('GGUF_TRUNCATED', `${path} is a damaged or truncated GGUF file (its metadata cannot be read${inspection.log ? `: ${inspection.log}` : ''}). Download or copy the file again.`, { path, fileSize: inspection.fileSize });
      case 'truncated':
        throw new FacetError('GGUF_TRUNCATED', `${path} is truncated: its tensors need ${inspection.dataEnd} bytes but the file has ${inspection.fileSize}. Download or copy the file again.`, { path, fileSize: inspection.fileSize, expected: inspection.dataEnd });
      case 'ok':
        break;
    }
    if (architecturesWithoutResidual.has(inspection.architecture)) {
      throw new FacetError('MODEL_ARCH_UNSUPPORTED', `${path} is a '${inspection.architecture}' model, whose llama.cpp graph has no per-block residual stream (l_out) to capture. Use a decoder model such as LLaMA, Mistral or Qwen.`, { path, architecture: inspection.architecture });
    }
    if (inspection.tensorCount === 0) {
      throw new FacetError('MODEL_LOAD_FAILED', `${path} holds no tensors (a vocabulary-only file). Use a model file with weights.`, { path });
    }
    const gpuLayers = options.gpuLayers ?? (backend.gpu === false ? 0 : -1);
    let native: NativeModel;
    try {
      native = await backend.addon.loadModel(path, { gpuLayers, useMmap: true });
    } catch (error) {
      throw fromNativeError(error, path, { path });
    }
    if (options.signal?.aborted) {
      native.dispose();
      throwIfAborted(options.signal);
    }
    return new ProbeModel(path, native, backend, options);
  }

  private get handle(): NativeModel {
    if (this.native === undefined) throw new FacetError('INVALID_ARGUMENT', `The model ${this.path} was disposed.`);
    return this.native;
  }

  /** Token ids of `text`. addSpecial adds BOS when the model wants it; parseSpecial reads `<|…|>` markers as control tokens. */
  tokenize(text: string, options: { addSpecial?: boolean; parseSpecial?: boolean } = {}): Int32Array {
    try {
      return this.handle.tokenize(text, options.addSpecial ?? true, options.parseSpecial ?? false);
    } catch (error) {
      throw fromNativeError(error, this.path, { path: this.path });
    }
  }

  detokenize(tokens: ArrayLike<number>, options: { removeSpecial?: boolean; renderSpecial?: boolean } = {}): string {
    try {
      return this.handle.detokenize(Int32Array.from(tokens), options.removeSpecial ?? false, options.renderSpecial ?? true);
    } catch (error) {
      throw fromNativeError(error, this.path);
    }
  }

  /** Text of each token (special tokens rendered); bytes that are not whole UTF-8 characters become U+FFFD. */
  tokenTexts(tokens: ArrayLike<number>): string[] {
    const decoder = new TextDecoder();
    let pieces: Uint8Array[];
    try {
      pieces = this.handle.tokenPieces(Int32Array.from(tokens));
    } catch (error) {
      throw fromNativeError(error, this.path, { path: this.path });
    }
    return pieces.map((bytes) => decoder.decode(bytes));
  }

  /** The conversation in the model's chat template (Jinja, or llama.cpp's built-in matcher; see {@link ProbeModelOptions.templateEngine}). */
  formatChat(turns: readonly ChatTurn[], options: { addAssistant?: boolean } = {}): string {
    const template = this.chatTemplate;
    if (template === null) {
      throw new FacetError('INVALID_ARGUMENT', `${this.path} has no chat template (tokenizer.chat_template). Use --no-template to capture raw text, or pass a template.`, { path: this.path });
    }
    const addAssistant = options.addAssistant ?? false;
    let jinjaError: unknown;
    if (this.templateEngine !== 'builtin') {
      try {
        const [bosToken, eosToken] = this.tokenTexts([Math.max(0, this.info.bos), Math.max(0, this.info.eos)]);
        return renderJinjaChatTemplate(template, turns, { addAssistant, bosToken: this.info.bos >= 0 ? bosToken! : '', eosToken: this.info.eos >= 0 ? eosToken! : '' });
      } catch (error) {
        if (this.templateEngine === 'jinja') {
          throw new FacetError('INVALID_ARGUMENT', `The chat template of ${this.path} does not render as Jinja: ${error instanceof Error ? error.message : String(error)}. Use the built-in template engine or --no-template.`, { path: this.path }, { cause: error });
        }
        jinjaError = error;
      }
    }
    try {
      return this.handle.applyChatTemplate(template, turns, addAssistant);
    } catch (error) {
      const reason = jinjaError === undefined ? '' : ` (as Jinja it failed too: ${jinjaError instanceof Error ? jinjaError.message : String(jinjaError)})`;
      throw new FacetError('INVALID_ARGUMENT', `The chat template of ${this.path} is not one llama.cpp recognises${reason}. Use --no-template to capture raw text.`, { path: this.path }, { cause: error });
    }
  }

  /**
   * Tokens of a sample and t0. With the template: the conversation is rendered, and t0 is the
   * first token whose text is not part of the template prefix (header/system tokens before the
   * first non-system turn's content). Without: raw text with BOS (if the model uses one), t0 after it.
   */
  prepare(input: SampleInput, options: PrepareOptions = {}): PreparedSample {
    const template = options.template ?? true;
    let tokens: Int32Array;
    let t0: number;
    if (!template) {
      const text = typeof input === 'string' ? input : 'text' in input ? input.text : input.turns.map((turn) => turn.content).join('\n\n');
      tokens = this.tokenize(text, { addSpecial: true, parseSpecial: false });
      t0 = tokens.length > 0 && tokens[0] === this.info.bos && this.info.addBos ? 1 : 0;
    } else {
      const turns: readonly ChatTurn[] = typeof input === 'string' ? [{ role: 'user', content: input }] : 'text' in input ? [{ role: 'user', content: input.text }] : input.turns;
      const rendered = this.withoutLeadingBos(this.formatChat(turns));
      tokens = this.tokenize(rendered, { addSpecial: true, parseSpecial: true });
      const at = this.templatePrefixLength(turns, rendered);
      if (at < 0) {
        t0 = tokens.length > 0 && tokens[0] === this.info.bos && this.info.addBos ? 1 : 0;
      } else {
        const prefix = this.tokenize(rendered.slice(0, at), { addSpecial: true, parseSpecial: true });
        t0 = 0;
        while (t0 < prefix.length && t0 < tokens.length && prefix[t0] === tokens[t0]) t0++;
      }
    }
    if (options.maxTokens !== undefined && tokens.length > options.maxTokens) tokens = tokens.slice(0, options.maxTokens);
    return { tokens, t0: Math.min(t0, Math.max(0, tokens.length - 1)) };
  }

  /**
   * {@link prepare} for many samples, yielding to the event loop every few milliseconds so a
   * large dataset does not block other work in the process.
   */
  async prepareAll(inputs: readonly SampleInput[], options: PrepareOptions & { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<PreparedSample[]> {
    const prepared: PreparedSample[] = [];
    let sliceStart = performance.now();
    for (const input of inputs) {
      prepared.push(this.prepare(input, options));
      if (performance.now() - sliceStart > 20) {
        options.onProgress?.(prepared.length, inputs.length);
        await new Promise((resolve) => setImmediate(resolve));
        throwIfAborted(options.signal);
        sliceStart = performance.now();
      }
    }
    options.onProgress?.(prepared.length, inputs.length);
    return prepared;
  }

  /** Token ids of a conversation ready for generation: the template plus the assistant header. */
  chatPrompt(turns: readonly ChatTurn[]): Int32Array {
    return this.tokenize(this.withoutLeadingBos(this.formatChat(turns, { addAssistant: true })), { addSpecial: true, parseSpecial: true });
  }

  /**
   * Characters of `rendered` before the first non-system turn's content: found by rendering the
   * same conversation with that content replaced by a marker (so content that also occurs in the
   * header, e.g. "user", cannot mislead), else by searching the content. -1 if neither works.
   */
  private templatePrefixLength(turns: readonly ChatTurn[], rendered: string): number {
    const index = Math.max(0, turns.findIndex((turn) => turn.role !== 'system'));
    const target = turns[index];
    if (target === undefined) return -1;
    const marker = 'FACETCONTENTMARKER';
    const marked = this.withoutLeadingBos(this.formatChat(turns.map((turn, i) => (i === index ? { role: turn.role, content: marker } : turn))));
    const at = marked.indexOf(marker);
    if (at >= 0 && rendered.startsWith(marked.slice(0, at))) return at;
    const content = target.content.trim();
    return content === '' ? -1 : rendered.indexOf(content);
  }

  /** Templates that write BOS themselves would get a second one from the tokenizer. */
  private withoutLeadingBos(text: string): string {
    if (!this.info.addBos || this.info.bos < 0) return text;
    const bosText = this.tokenTexts([this.info.bos])[0] ?? '';
    return bosText !== '' && text.startsWith(bosText) ? text.slice(bosText.length) : text;
  }

  async createContext(options: ProbeContextOptions = {}): Promise<ProbeContext> {
    const context = await ProbeContext.create(this, this.handle, options);
    this.contexts.add(context);
    context.onDispose(() => this.contexts.delete(context));
    return context;
  }

  /** Disposes every context of this model, then the model. */
  dispose(): void {
    for (const context of [...this.contexts]) context.dispose();
    this.native?.dispose();
    this.native = undefined;
  }
}
