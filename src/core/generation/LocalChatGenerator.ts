import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { ChatTurn } from '../../shared/datasetTypes.ts';
import type { LlamaGpuChoice } from '../llama/LlamaBackend.ts';
import type { ProbeContext, SteeringOptions } from '../llama/ProbeContext.ts';
import { planPromptSharing } from '../llama/planPromptSharing.ts';
import { ProbeModel } from '../llama/ProbeModel.ts';
import type { ChatCompletion, ChatControl, ChatGenerator, ChatSampling } from './ChatGenerator.ts';

export interface LocalChatGeneratorOptions {
  /** Registered name or file name, for people. */
  name: string;
  /** The model file's content hash (or path:size:mtime), for stored outputs. */
  hash: string;
  /** Parallel sequences decoded together. Defaults to 8. */
  parallel?: number;
  /** Tokens of the context all sequences share. Defaults to min(8192, the model's training context). */
  contextSize?: number;
  threads?: number;
  gpu?: LlamaGpuChoice;
  signal?: AbortSignal;
}

/** Reasoning a thinking-style model wrote before its answer (only possible without a JSON schema). */
const leadingThinking = /^\s*<think>[\s\S]*?<\/think>\s*/;

/**
 * A local GGUF model writing assistant turns: each conversation is rendered with the model's own
 * chat template, conversations are packed into groups that fit one context and decoded together
 * as parallel sequences, and prefixes they share (template header, instructions, or the whole
 * conversation for several candidates) are evaluated once (see {@link ProbeContext.generateMany}).
 */
export class LocalChatGenerator implements ChatGenerator {
  readonly identity: string;
  readonly label: string;
  readonly leavesMachine = false;
  readonly parallel: number;
  readonly model: ProbeModel;
  private readonly context: ProbeContext;

  private constructor(model: ProbeModel, context: ProbeContext, options: LocalChatGeneratorOptions) {
    this.model = model;
    this.context = context;
    this.identity = `model:${options.hash}`;
    this.label = options.name;
    this.parallel = context.sequences;
  }

  static async open(path: string, options: LocalChatGeneratorOptions): Promise<LocalChatGenerator> {
    const model = await ProbeModel.load(path, { ...(options.gpu === undefined ? {} : { gpu: options.gpu }), ...(options.signal ? { signal: options.signal } : {}) });
    try {
      if (model.chatTemplate === null) {
        throw new FacetError('NOT_A_CHAT_MODEL', `${options.name} (${path}) has no chat template (tokenizer.chat_template), so it cannot hold a conversation. Pick an instruct/chat model to explain and judge features.`, { path });
      }
      const train = model.info.nCtxTrain > 0 ? model.info.nCtxTrain : 8192;
      const context = await model.createContext({
        contextSize: options.contextSize ?? Math.min(8192, train),
        sequences: options.parallel ?? 8,
        ...(options.threads === undefined ? {} : { threads: options.threads }),
      });
      return new LocalChatGenerator(model, context, options);
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  async complete(conversations: readonly (readonly ChatTurn[])[], sampling: ChatSampling, control: ChatControl = {}): Promise<ChatCompletion[]> {
    const maxTokens = sampling.maxTokens ?? 256;
    const prompts = conversations.map((turns) => this.model.chatPrompt(turns));
    const results: ChatCompletion[] = [];
    let start = 0;
    while (start < prompts.length) {
      throwIfAborted(control.signal);
      const end = this.groupEnd(prompts, start, maxTokens);
      const outputs = await this.context.generateMany(prompts.slice(start, end), {
        maxTokens,
        temperature: sampling.temperature ?? 0.8,
        topP: sampling.topP ?? 0.95,
        // llama.cpp's usual top-k 40 before top-p: the same draws in practice, without sorting the whole vocabulary each step
        topK: 40,
        minP: 0,
        seed: (sampling.seed ?? 0) + start,
        ...(sampling.stop ? { stop: sampling.stop } : {}),
        ...(sampling.jsonSchema ? { jsonSchema: sampling.jsonSchema } : {}),
        ...(control.signal ? { signal: control.signal } : {}),
      });
      for (const output of outputs) results.push({ text: sampling.jsonSchema ? output.text : output.text.replace(leadingThinking, ''), finish: output.finish });
      start = end;
      control.onProgress?.(start, prompts.length);
    }
    return results;
  }

  /** The end of the largest group from `start` that fits the context (at least one prompt). */
  private groupEnd(prompts: readonly Int32Array[], start: number, maxTokens: number): number {
    let end = start + 1;
    while (end < prompts.length && end - start < this.parallel) {
      const group = prompts.slice(start, end + 1);
      if (planPromptSharing(group).ownTokens + group.length * maxTokens > this.context.contextSize) break;
      end++;
    }
    return end;
  }

  /**
   * Adds `scale · vector` to the residual stream after the given block(s) in every later
   * {@link complete} call until cleared with null (FAC Synthesis steers with a feature's SAE
   * decoder row; see {@link ProbeContext.setSteering}).
   */
  async setSteering(steering: SteeringOptions | null): Promise<void> {
    if (steering === null) await this.context.clearSteering();
    else await this.context.setSteering(steering);
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}
