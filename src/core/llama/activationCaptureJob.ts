import { stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FacetError } from '../../shared/FacetError.ts';
import type { ActivationCaptureSummary } from '../../shared/activationTypes.ts';
import type { ChatTurn } from '../../shared/datasetTypes.ts';
import { detectFormat, normalizeRecord } from '../datasets/normalizeRecord.ts';
import { detectLayout, readRecords } from '../datasets/readRecords.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import { resolveModel } from '../models/ModelService.ts';
import type { Store } from '../store/Store.ts';
import { ActivationFileWriter, type ActivationFileFormat } from './ActivationFileWriter.ts';
import { poolActivations, type PoolMode } from './poolActivations.ts';
import { ProbeModel, type PreparedSample } from './ProbeModel.ts';

export const ACTIVATION_CAPTURE_JOB = 'activations.capture';

/** What `facet activations` captures, checked by the CLI and {@link prepareActivationCapture}. */
export interface ActivationCaptureRequest {
  /** Registered model name or .gguf path. */
  model: string;
  /** llama.cpp 0-based `l_out` block index. */
  layer: number;
  /** A dataset file (any importable format, or .txt: one sample a line)… */
  input?: string;
  /** …or one sample given inline. */
  text?: string;
  /** Absolute path of the .npy / .safetensors file; a sidecar `<out>.json` goes beside it. */
  out: string;
  format: ActivationFileFormat;
  pool: PoolMode;
  template: boolean;
  templateEngine: 'auto' | 'jinja' | 'builtin';
  kv: 'f16' | 'f32';
  maxTokens: number;
  contextSize?: number;
  threads?: number;
  cpu?: boolean;
}


type InputSample = { text: string } | { turns: ChatTurn[] };

async function readInputSamples(path: string, signal: AbortSignal): Promise<InputSample[]> {
  const samples: InputSample[] = [];
  const layout = await detectLayout(path);
  for await (const record of readRecords(path, layout, { signal })) {
    if (record.error !== undefined) {
      // a record over the size or nesting cap keeps its own code (its message names file and line)
      if (record.code !== undefined) throw new FacetError(record.code, record.error, { path, line: record.line });
      throw new FacetError('DATASET_LINE_INVALID', `${path} line ${record.line}: ${record.error}. Fix the line or remove it.`, { path, line: record.line });
    }
    const value = record.value;
    if (typeof value === 'string') {
      samples.push({ text: value });
      continue;
    }
    // formats are detected per record, so a file may mix plain texts and conversations
    const format = detectFormat(value);
    if (format === undefined) {
      throw new FacetError('DATASET_FORMAT_UNKNOWN', `${path} line ${record.line}: no known sample fields (text, prompt, messages, conversations, instruction, chosen/rejected, question). Convert the file to JSONL with a "text" field.`, { path, line: record.line });
    }
    try {
      samples.push({ turns: normalizeRecord(value, format).turns });
    } catch (error) {
      throw new FacetError('DATASET_LINE_INVALID', `${path} line ${record.line}: ${(error as Error).message}.`, { path, line: record.line }, { cause: error });
    }
  }
  if (samples.length === 0) throw new FacetError('DATASET_EMPTY', `${path} holds no samples.`, { path });
  return samples;
}

/** The model's file: a .gguf path as given, else the registered model of that name. */
async function modelPathOf(store: Store, nameOrPath: string): Promise<string> {
  const asPath = resolve(nameOrPath);
  const info = await stat(asPath).catch(() => undefined);
  if (info?.isFile() === true) return asPath;
  return (await resolveModel(store, nameOrPath)).path;
}

/** Checks what can be checked before a job queues: the model resolves, the input file exists. */
export async function prepareActivationCapture(store: Store, request: ActivationCaptureRequest): Promise<ActivationCaptureRequest> {
  if ((request.input === undefined) === (request.text === undefined)) throw new FacetError('INVALID_ARGUMENT', 'Give exactly one of an input file or an inline text.');
  const model = await modelPathOf(store, request.model);
  if (request.input !== undefined) {
    const input = resolve(request.input);
    const info = await stat(input).catch(() => undefined);
    if (info === undefined) throw new FacetError('DATASET_FILE_NOT_FOUND', `No file ${input}. Check the path of the input file.`, { path: input });
    if (!info.isFile()) throw new FacetError('DATASET_PATH_IS_DIRECTORY', `${input} is not a file. Give a dataset file.`, { path: input });
    return { ...request, model, input };
  }
  return { ...request, model };
}

/**
 * Captures the residual stream after block `layer` for every token of every sample into an
 * .npy / .safetensors file with a JSON sidecar (token ids, offsets, t0). Progress: samples
 * tokenized, then samples captured. A failed or cancelled capture deletes its incomplete file.
 */
export async function captureActivationsToFile(request: ActivationCaptureRequest, control: { signal: AbortSignal; onProgress?: (done: number, total: number) => void }): Promise<ActivationCaptureSummary> {
  const started = performance.now();
  const { layer, pool, out, format, kv, template, templateEngine } = request;
  const inputs: InputSample[] = request.text !== undefined ? [{ text: request.text }] : await readInputSamples(request.input!, control.signal);
  const model = await ProbeModel.load(request.model, { gpu: request.cpu === true ? false : 'auto', templateEngine, signal: control.signal });
  try {
    if (layer >= model.info.nLayer) {
      throw new FacetError('LAYER_OUT_OF_RANGE', `Layer ${layer} does not exist: ${request.model} has blocks 0..${model.info.nLayer - 1} (0-based l_out-L).`, { layer, blocks: model.info.nLayer });
    }
    // progress: tokenizing counts one unit per sample, capturing another
    const total = inputs.length * 2;
    const prepared: PreparedSample[] = await model.prepareAll(inputs, { template, maxTokens: request.maxTokens, signal: control.signal, onProgress: (done) => control.onProgress?.(done, total) });
    const context = await model.createContext({
      ...(request.contextSize === undefined ? {} : { contextSize: request.contextSize }),
      kv,
      ...(request.threads === undefined ? {} : { threads: request.threads }),
    });
    const nEmbd = model.info.nEmbd;
    const totalTokens = prepared.reduce((sum, sample) => sum + sample.tokens.length, 0);
    const rows = pool === 'none' ? totalTokens : prepared.length;
    const writer = await ActivationFileWriter.create(out, format, rows, nEmbd, { layer: String(layer), pool, model: request.model });
    try {
      await context.captureChunks(prepared.map((sample) => sample.tokens), { layers: [layer], signal: control.signal, onProgress: (done) => control.onProgress?.(inputs.length + done, total) }, async (chunk) => {
        const data = chunk.activations.get(layer)!;
        if (pool === 'none') {
          await writer.append(data);
          return;
        }
        const pooled = new Float32Array(chunk.lengths.length * nEmbd);
        let row = 0;
        chunk.lengths.forEach((length, i) => {
          const sample = prepared[chunk.firstSample + i]!;
          pooled.set(poolActivations(data.subarray(row * nEmbd, (row + length) * nEmbd), nEmbd, sample.t0, pool), i * nEmbd);
          row += length;
        });
        await writer.append(pooled);
      });
    } catch (error) {
      // The capture's own error (PROMPT_TOO_LONG, CANCELLED, …) is what the user needs; the
      // incomplete file goes.
      await writer.discard();
      throw error;
    } finally {
      context.dispose();
    }
    await writer.close();
    let offset = 0;
    const sidecar = {
      layer,
      layerConvention: 'l_out-L: residual stream after 0-based block L',
      model: request.model,
      pool,
      template,
      templateEngine,
      kv,
      nEmbd,
      shape: [rows, nEmbd],
      format,
      samples: prepared.map((sample, index) => {
        const entry = { tokens: Array.from(sample.tokens), offset: pool === 'none' ? offset : index, t0: sample.t0 };
        offset += sample.tokens.length;
        return entry;
      }),
    };
    await writeFile(`${out}.json`, `${JSON.stringify(sidecar)}\n`);
    control.onProgress?.(total, total);
    const seconds = (performance.now() - started) / 1000;
    return { out, sidecar: `${out}.json`, layer, pool, format, samples: prepared.length, tokens: totalTokens, shape: [rows, nEmbd], seconds: Number(seconds.toFixed(3)) };
  } finally {
    model.dispose();
  }
}

/** `facet activations` as a job, so every shell of the workspace can follow and cancel it. */
export function createActivationCaptureJob(): JobDefinition<ActivationCaptureRequest, never, ActivationCaptureSummary> {
  return {
    kind: ACTIVATION_CAPTURE_JOB,
    title: (request) => `Capture l_out-${request.layer} of ${request.model} ${request.input !== undefined ? `over ${request.input}` : 'for one text'} into ${request.out}`,
    run: (request, ctx) => captureActivationsToFile(request, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) }),
  };
}
