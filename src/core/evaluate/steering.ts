import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { SampleRow } from '../../shared/datasetTypes.ts';
import type { SteeringEvaluation, SteeringVectorResult } from '../../shared/evaluateTypes.ts';
import { readNpy, writeNpy } from '../arrays/NpyFile.ts';
import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import { resolveIndexDataset } from '../features/resolveFeatureSpace.ts';
import { gguf } from '../gguf/GgufValue.ts';
import { writeGguf } from '../gguf/GgufWriter.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import type { ProbeContext } from '../llama/ProbeContext.ts';
import { ProbeModel } from '../llama/ProbeModel.ts';
import { resolveModel } from '../models/ModelService.ts';
import type { Store } from '../store/Store.ts';

/** One A/B item: the question (choices included), and which letter shows the behaviour. */
export interface AbItem {
  question: string;
  matching: 'A' | 'B';
}

const letterOf = (answer: string): 'A' | 'B' | null => {
  const match = /^\s*\(?\s*([AB])\s*\)?/.exec(answer);
  return match ? (match[1] as 'A' | 'B') : null;
};

/** The A/B items of a dataset imported in the CAA layout; items without both letters are refused. */
export function abItemsOf(rows: readonly SampleRow[], dataset: string): AbItem[] {
  return rows.map((row) => {
    const question = row.turns.map((turn) => turn.content).join('\n');
    const matching = row.pair?.kind === 'ab' ? letterOf(row.pair.matching) : null;
    const other = row.pair?.kind === 'ab' ? letterOf(row.pair.notMatching) : null;
    if (matching === null || other === null || matching === other || !/\(A\)/.test(question) || !/\(B\)/.test(question)) {
      throw new FacetError('INVALID_ARGUMENT', `Sample ${row.ordinal} (line ${row.sourceLine}) of '${dataset}' is not an A/B item: it needs a question with (A) and (B) choices and answers naming one letter each. Import CAA-style items {question, answer_matching_behavior, answer_not_matching_behavior}.`, { dataset, ordinal: row.ordinal });
    }
    return { question, matching };
  });
}

/** The same item with its two choices swapped (and the matching letter with them). */
export function swapChoices(item: AbItem): AbItem {
  const match = /\(A\)([\s\S]*?)\(B\)([\s\S]*)$/.exec(item.question);
  if (match === null) throw new FacetError('INVALID_ARGUMENT', 'An A/B item must list (A) before (B).');
  const [, first, second] = match;
  const lead = item.question.slice(0, match.index);
  // keep the separator that came before (B) with the new first choice
  const separator = /\s*$/.exec(first!)![0];
  return { question: `${lead}(A)${second!.trimEnd()}${separator}(B)${first!.slice(0, first!.length - separator.length)}`, matching: item.matching === 'A' ? 'B' : 'A' };
}

/** Tokens of the chat prompt for an item, ending with the assistant's "(" and then `letter` if given. */
function answerPrompt(model: ProbeModel, item: AbItem, letter?: 'A' | 'B'): Int32Array {
  const prompt = model.chatPrompt([{ role: 'user', content: item.question }]);
  const tail = model.tokenize(`(${letter ?? ''}`, { addSpecial: false, parseSpecial: false });
  const out = new Int32Array(prompt.length + tail.length);
  out.set(prompt);
  out.set(tail, prompt.length);
  return out;
}

/**
 * A CAA steering vector at l_out-`layer`: the mean over items of the residual at the answer
 * letter after "(" when the answer shows the behaviour, minus when it does not.
 */
export async function buildCaaVector(model: ProbeModel, context: ProbeContext, items: readonly AbItem[], layer: number, signal?: AbortSignal): Promise<Float32Array> {
  const d = model.info.nEmbd;
  const sum = new Float64Array(d);
  const prompts = items.flatMap((item) => [answerPrompt(model, item, item.matching), answerPrompt(model, item, item.matching === 'A' ? 'B' : 'A')]);
  await context.captureChunks(prompts, { layers: [layer], ...(signal ? { signal } : {}) }, (chunk) => {
    const rows = chunk.activations.get(layer)!;
    let offset = 0;
    chunk.lengths.forEach((length, j) => {
      const sign = (chunk.firstSample + j) % 2 === 0 ? 1 : -1;
      const base = (offset + length - 1) * d;
      for (let k = 0; k < d; k++) sum[k]! += (sign * rows[base + k]!) / items.length;
      offset += length;
    });
  });
  return Float32Array.from(sum);
}

/** Robust accuracy per multiplier and the Steering Control Rate = robust accuracy(+1) − robust accuracy(−1). */
export function steeringControlRate(robust: readonly { multiplier: number; robustAccuracy: number }[]): number | null {
  const plus = robust.find((entry) => entry.multiplier === 1);
  const minus = robust.find((entry) => entry.multiplier === -1);
  return plus === undefined || minus === undefined ? null : plus.robustAccuracy - minus.robustAccuracy;
}

/**
 * For each multiplier m, with m · vector added at l_out-`layer`, answers every item in both option
 * orders by comparing the next-token probabilities of "A" and "B" after "(" (greedy between the
 * two letters): an item counts as robustly matching when the behaviour's letter wins in both orders.
 */
export async function evaluateSteering(model: ProbeModel, context: ProbeContext, items: readonly AbItem[], vector: Float32Array, layer: number, multipliers: readonly number[], signal?: AbortSignal): Promise<{ multiplier: number; robustAccuracy: number; accuracy: number }[]> {
  const orders = items.flatMap((item) => [item, swapChoices(item)]);
  const prompts = orders.map((item) => answerPrompt(model, item));
  const out: { multiplier: number; robustAccuracy: number; accuracy: number }[] = [];
  try {
    for (const multiplier of multipliers) {
      throwIfAborted(signal);
      if (multiplier === 0) await context.clearSteering();
      else await context.setSteering({ vector, layers: layer, scale: multiplier });
      const answers: ('A' | 'B')[] = [];
      for (let start = 0; start < prompts.length; start += context.sequences) {
        const replies = await context.generateMany(prompts.slice(start, start + context.sequences), { grammar: 'root ::= "A" | "B"', temperature: 0, maxTokens: 1, ...(signal ? { signal } : {}) });
        for (const reply of replies) answers.push(reply.text.trim() === 'B' ? 'B' : 'A');
      }
      let robust = 0;
      let single = 0;
      items.forEach((_, i) => {
        const first = answers[2 * i] === orders[2 * i]!.matching;
        const second = answers[2 * i + 1] === orders[2 * i + 1]!.matching;
        if (first && second) robust++;
        single += (first ? 1 : 0) + (second ? 1 : 0);
      });
      out.push({ multiplier, robustAccuracy: robust / items.length, accuracy: single / (2 * items.length) });
    }
  } finally {
    await context.clearSteering();
  }
  return out;
}

/** A steering vector file: `.npy` float32 [n_embd]; the layer and model travel in a `.json` beside it. */
export interface SteeringVectorFile {
  vector: Float32Array;
  layer: number;
  model: string;
  items: number;
}

export async function writeSteeringVector(path: string, file: SteeringVectorFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeNpy(path, file.vector, [file.vector.length]);
  await writeFile(`${path}.json`, `${JSON.stringify({ layer: file.layer, model: file.model, items: file.items, layout: 'float32 [n_embd], added to l_out-<layer> (llama.cpp 0-based block)' }, null, 2)}\n`);
}

export async function readSteeringVector(path: string): Promise<SteeringVectorFile> {
  let meta: { layer?: unknown; model?: unknown; items?: unknown };
  try {
    meta = JSON.parse(await readFile(`${path}.json`, 'utf8'));
  } catch {
    throw new FacetError('NOT_FOUND', `${path}.json (the layer and model of the vector ${path}) is missing or not JSON. Build vectors with 'facet steer vector'.`, { path });
  }
  const array = await readNpy(path);
  if (typeof meta.layer !== 'number' || array.shape.length !== 1) throw new FacetError('INVALID_ARGUMENT', `${path} is not a steering vector written by 'facet steer vector' (float32 [n_embd] with a layer).`, { path });
  return { vector: Float32Array.from(array.data as ArrayLike<number>), layer: meta.layer, model: String(meta.model ?? ''), items: Number(meta.items ?? 0) };
}

/**
 * The vector as a llama.cpp control vector (GGUF, architecture `controlvector`, one tensor
 * `direction.<layer>`), which llama.cpp adds to the output of that block.
 */
export async function writeControlVectorGguf(path: string, file: SteeringVectorFile, modelArchitecture: string): Promise<void> {
  await writeGguf(path, {
    metadata: [
      ['general.architecture', gguf.str('controlvector')],
      ['controlvector.model_hint', gguf.str(modelArchitecture)],
      ['controlvector.layer_count', gguf.u32(1)],
    ],
    tensors: [{ name: `direction.${file.layer}`, type: 'F32', dims: [file.vector.length], data: file.vector }],
  });
}

export interface SteerVectorRequest {
  model: string;
  dataset: string;
  layer: number;
  out: string;
  /** Also write a llama.cpp control vector here. */
  controlVector?: string;
  limit?: number;
  threads?: number;
  cpu?: boolean;
}

export interface SteerEvalRequest {
  model: string;
  vector: string;
  dataset: string;
  multipliers: number[];
  limit?: number;
  threads?: number;
  cpu?: boolean;
}

async function openModel(store: Store, name: string, options: { threads?: number; cpu?: boolean; signal?: AbortSignal }): Promise<{ model: ProbeModel; context: ProbeContext; label: string }> {
  const resolved = await resolveModel(store, name);
  const model = await ProbeModel.load(resolved.path, { gpu: options.cpu ? false : 'auto', ...(options.signal ? { signal: options.signal } : {}) });
  try {
    const context = await model.createContext({ contextSize: Math.min(model.info.nCtxTrain > 0 ? model.info.nCtxTrain : 4096, 4096), sequences: 8, ...(options.threads !== undefined ? { threads: options.threads } : {}) });
    return { model, context, label: resolved.record?.name ?? resolved.path };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

function itemsOf(store: Store, dataset: string, limit?: number): { name: string; items: AbItem[] } {
  const summary = resolveIndexDataset(store, dataset);
  const rows = new DatasetRepository(store.db).samples(summary.id, 0, limit === undefined ? summary.sampleCount : Math.min(limit, summary.sampleCount));
  const items = abItemsOf(rows, summary.name);
  if (items.length === 0) throw new FacetError('DATASET_EMPTY', `Dataset '${summary.name}' has no A/B items.`, { dataset: summary.name });
  return { name: summary.name, items };
}

export async function steerVector(store: Store, request: SteerVectorRequest, signal?: AbortSignal): Promise<SteeringVectorResult> {
  const { items } = itemsOf(store, request.dataset, request.limit);
  const { model, context, label } = await openModel(store, request.model, { ...request, ...(signal ? { signal } : {}) });
  try {
    if (!Number.isInteger(request.layer) || request.layer < 1 || request.layer >= model.info.nLayer) {
      throw new FacetError('LAYER_OUT_OF_RANGE', `--layer must be 1..${model.info.nLayer - 1} for ${label} (llama.cpp 0-based block; block 0 cannot be steered).`, { layer: request.layer });
    }
    const vector = await buildCaaVector(model, context, items, request.layer, signal);
    const file = { vector, layer: request.layer, model: label, items: items.length };
    await writeSteeringVector(request.out, file);
    if (request.controlVector !== undefined) await writeControlVectorGguf(request.controlVector, file, model.info.architecture);
    return { out: request.out, controlVector: request.controlVector ?? null, layer: request.layer, items: items.length, norm: Math.hypot(...vector) };
  } finally {
    model.dispose();
  }
}

export async function steerEval(store: Store, request: SteerEvalRequest, signal?: AbortSignal): Promise<SteeringEvaluation> {
  const file = await readSteeringVector(request.vector);
  const { name, items } = itemsOf(store, request.dataset, request.limit);
  const { model, context } = await openModel(store, request.model, { ...request, ...(signal ? { signal } : {}) });
  try {
    if (file.vector.length !== model.info.nEmbd) throw new FacetError('INVALID_ARGUMENT', `${request.vector} has ${file.vector.length} values but the model's residual has ${model.info.nEmbd}: it was built for another model.`, { path: request.vector });
    const multipliers = await evaluateSteering(model, context, items, file.vector, file.layer, request.multipliers, signal);
    return { dataset: name, vector: request.vector, layer: file.layer, items: items.length, multipliers, steeringControlRate: steeringControlRate(multipliers) };
  } finally {
    model.dispose();
  }
}

export const STEER_VECTOR_JOB = 'evaluate.steerVector';
export const STEER_EVAL_JOB = 'evaluate.steerEval';

export function createSteerVectorJob(store: Store): JobDefinition<SteerVectorRequest, never, Awaited<ReturnType<typeof steerVector>>> {
  return { kind: STEER_VECTOR_JOB, title: (request) => `CAA vector from ${request.dataset} at l_out-${request.layer} (${request.model})`, run: (request, ctx) => steerVector(store, request, ctx.signal) };
}

export function createSteerEvalJob(store: Store): JobDefinition<SteerEvalRequest, never, Awaited<ReturnType<typeof steerEval>>> {
  return { kind: STEER_EVAL_JOB, title: (request) => `Steering evaluation of ${request.vector} on ${request.dataset} (${request.model})`, run: (request, ctx) => steerEval(store, request, ctx.signal) };
}
