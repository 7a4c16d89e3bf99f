import type { ChatTurn } from '../shared/datasetTypes.ts';
import type { ChatSampling } from '../core/generation/ChatGenerator.ts';
import type { LocalChatGenerator } from '../core/generation/LocalChatGenerator.ts';
import { openChatGenerator } from '../core/generation/openChatGenerator.ts';
import { CompareRepository } from '../core/compare/CompareRepository.ts';
import { pairTokenView, type PairTokenRequest } from '../core/compare/pairTokenView.ts';
import { FeatureIndexRepository } from '../core/features/FeatureIndexRepository.ts';
import { featureSpanContexts, type FeatureSpanContextRequest } from '../core/features/featureSpanContexts.ts';
import type { ProbeContext, ProbeContextOptions } from '../core/llama/ProbeContext.ts';
import { ProbeModel } from '../core/llama/ProbeModel.ts';
import { resolveModel } from '../core/models/ModelService.ts';
import type { Store } from '../core/store/Store.ts';
import { editSyntheticSample } from '../core/synthesis/editSyntheticSample.ts';
import { SynthesisRepository } from '../core/synthesis/SynthesisRepository.ts';

/** What a model call sees: the workspace and what its process keeps loaded between calls. */
export interface ModelCallContext {
  store: Store;
  home: string;
  /** The chat model kept loaded for the next chat.complete, and the capture model and context for the next residuals.capture (one of each at a time). */
  state: { generator?: { name: string; instance: LocalChatGenerator }; capture?: { key: string; model: ProbeModel; context: ProbeContext } };
}

export interface CaptureArgs {
  /** Registered model name or .gguf path. */
  model: string;
  samples: Int32Array[];
  layer: number;
  earlyStop?: boolean;
  context: Pick<ProbeContextOptions, 'contextSize' | 'batchSize' | 'sequences' | 'threads'>;
}

export interface ChatCompleteArgs {
  model: string;
  turns: ChatTurn[];
  /** Completions of the same conversation, decoded as parallel sequences. */
  n: number;
  sampling: ChatSampling;
}

export interface ChatCompleteResult {
  choices: { text: string; finish: 'eog' | 'length' | 'stop' }[];
  promptTokens: number;
  completionTokens: number;
}

/**
 * The engine's model work that is not a job: each call loads or uses a model in llama.cpp (and
 * onnxruntime for SAE encoding). `facet serve` and the desktop run them in a model process
 * ({@link ModelProcessHost}); the CLI runs them here, in its own process. Arguments and results
 * are plain data (they cross a process boundary).
 */
export const modelProcessCalls = {
  /** /v1/chat/completions: `n` completions of one conversation with a registered local model. */
  'chat.complete': async (ctx: ModelCallContext, args: ChatCompleteArgs): Promise<ChatCompleteResult> => {
    if (ctx.state.generator?.name !== args.model) {
      await disposeModelCallState(ctx.state);
      const instance = (await openChatGenerator(ctx.store, { model: args.model, parallel: 4 }, args.model)) as LocalChatGenerator;
      ctx.state.generator = { name: args.model, instance };
    }
    const generator = ctx.state.generator.instance;
    const completions = await generator.complete(Array.from({ length: args.n }, () => args.turns), args.sampling);
    return {
      choices: completions.map((completion) => ({ text: completion.text, finish: completion.finish })),
      promptTokens: generator.model.chatPrompt(args.turns).length,
      completionTokens: completions.reduce((sum, completion) => sum + generator.model.tokenize(completion.text, { addSpecial: false }).length, 0),
    };
  },
  /** synthesis.editSample: measures the edited sample in its run's feature space and stores it. */
  'synthesis.editSample': async (ctx: ModelCallContext, args: { sampleId: number; text: string; turn: number }): Promise<{ sampleId: number; activation: number }> => {
    const record = await editSyntheticSample(ctx.store, ctx.home, args.sampleId, args.text, args.turn);
    return { sampleId: args.sampleId, activation: record.activation };
  },
  /** features.context: the tokens around a feature's peak, re-run through model and SAE (kept in this process's cache). */
  'features.context': (ctx: ModelCallContext, args: Omit<FeatureSpanContextRequest, 'signal'>) => featureSpanContexts(ctx.store, ctx.home, args),
  /**
   * Residual activations at one layer for token sequences (CPU), with the model and context kept
   * for the next call: the capture `bench:capture` times in-process and through the boundary.
   */
  'residuals.capture': async (ctx: ModelCallContext, args: CaptureArgs): Promise<{ nEmbd: number; lengths: number[]; activations: Float32Array }> => {
    const key = JSON.stringify([args.model, args.context]);
    if (ctx.state.capture?.key !== key) {
      disposeCapture(ctx.state);
      const { path } = await resolveModel(ctx.store, args.model);
      const model = await ProbeModel.load(path, { gpu: false });
      try {
        ctx.state.capture = { key, model, context: await model.createContext(args.context) };
      } catch (error) {
        model.dispose();
        throw error;
      }
    }
    const captured = await ctx.state.capture.context.capture(args.samples, { layers: [args.layer], ...(args.earlyStop === undefined ? {} : { earlyStop: args.earlyStop }) });
    return { nEmbd: captured.nEmbd, lengths: captured.lengths, activations: captured.activations.get(args.layer)! };
  },
  /** compare.tokens: both models' tokens of one sample and where a matched pair fires. */
  'compare.tokens': (ctx: ModelCallContext, args: Omit<PairTokenRequest, 'signal'>) => pairTokenView(ctx.store, ctx.home, args),
};

export type ModelCallName = keyof typeof modelProcessCalls;
export type ModelCallArgs<N extends ModelCallName> = Parameters<(typeof modelProcessCalls)[N]>[1];
export type ModelCallResult<N extends ModelCallName> = Awaited<ReturnType<(typeof modelProcessCalls)[N]>>;

/** Runs model calls: in this process ({@link InProcessModelCalls}) or in model processes ({@link ModelProcessHost}). */
export interface ModelCalls {
  run<N extends ModelCallName>(call: N, args: ModelCallArgs<N>): Promise<ModelCallResult<N>>;
  close(): Promise<void>;
}

export function isModelCallName(name: unknown): name is ModelCallName {
  return typeof name === 'string' && Object.hasOwn(modelProcessCalls, name);
}

/** Runs a call by name (what a model process does with each request). */
export function runModelCall(ctx: ModelCallContext, call: ModelCallName, args: unknown): Promise<unknown> {
  const run = modelProcessCalls[call] as (ctx: ModelCallContext, args: unknown) => Promise<unknown>;
  return run(ctx, args);
}

function disposeCapture(state: ModelCallContext['state']): void {
  const capture = state.capture;
  state.capture = undefined;
  capture?.context.dispose();
  capture?.model.dispose();
}

export async function disposeModelCallState(state: ModelCallContext['state']): Promise<void> {
  disposeCapture(state);
  const generator = state.generator;
  state.generator = undefined;
  await generator?.instance.dispose();
}

/**
 * The model (or models) a call will load, as the user named them: the key of its model process
 * and the name a crash report gives. Read from the workspace without loading anything.
 */
export function modelOfCall(store: Store, call: ModelCallName, args: unknown): string {
  try {
    if (call === 'chat.complete' || call === 'residuals.capture') return (args as { model: string }).model;
    const spaces = new FeatureIndexRepository(store.db);
    if (call === 'synthesis.editSample') {
      const row = store.db.prepare<[number], { run_id: number }>('SELECT run_id FROM synthetic_samples WHERE sample_id = ?').get((args as { sampleId: number }).sampleId);
      const run = row === undefined ? undefined : new SynthesisRepository(store.db).run(row.run_id);
      const space = run === undefined ? undefined : spaces.space(run.spaceId);
      if (space !== undefined) return space.modelName;
    }
    if (call === 'features.context') {
      const space = spaces.space((args as { spaceId: number }).spaceId);
      if (space !== undefined) return space.modelName;
    }
    if (call === 'compare.tokens') {
      const run = new CompareRepository(store.db).get((args as { runId: number }).runId);
      const a = run === undefined ? undefined : spaces.space(run.spaceAId);
      const b = run === undefined ? undefined : spaces.space(run.spaceBId);
      if (a !== undefined && b !== undefined) return a.modelName === b.modelName ? a.modelName : `${a.modelName} + ${b.modelName}`;
    }
  } catch {
    // an unknown id: the call itself reports it with its own code
  }
  return 'unknown model';
}

/** Runs model calls in this process: the CLI's way (one command per process). */
export class InProcessModelCalls implements ModelCalls {
  private readonly ctx: ModelCallContext;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(store: Store, home: string) {
    this.ctx = { store, home, state: {} };
  }

  run<N extends ModelCallName>(call: N, args: ModelCallArgs<N>): Promise<ModelCallResult<N>> {
    // one call at a time, as in a model process: a kept chat model is not shared between calls
    const work = (): Promise<ModelCallResult<N>> => runModelCall(this.ctx, call, args) as Promise<ModelCallResult<N>>;
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    await disposeModelCallState(this.ctx.state);
  }
}
