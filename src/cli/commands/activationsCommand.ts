import { stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import type { ChatTurn } from '../../shared/datasetTypes.ts';
import { detectFormat, normalizeRecord } from '../../core/datasets/normalizeRecord.ts';
import { detectLayout, readRecords } from '../../core/datasets/readRecords.ts';
import { ActivationFileWriter, type ActivationFileFormat } from '../../core/llama/ActivationFileWriter.ts';
import { poolActivations, poolModes, type PoolMode } from '../../core/llama/poolActivations.ts';
import { ProbeModel, type PreparedSample } from '../../core/llama/ProbeModel.ts';
import { resolveModel } from '../../core/models/ModelService.ts';
import type { CliContext } from '../CliContext.ts';

const help = `Usage:
  facet activations --model M --layer L (--input file | --text "…") --out acts.npy
                    [--pool none|max|mean|last] [--no-template] [--kv f16|f32] [--threads N]
                    [--format npy|safetensors] [--max-tokens N] [--context N] [--cpu]
                    [--template-engine auto|jinja|builtin]

Captures the residual stream after block L (llama.cpp tensor l_out-L; layers are 0-based block
indices, so the paper's "layer 16" of a 32-block model is L = 15) for every token of every sample.

  --model       registered model name or path to a .gguf file
  --input       dataset file (JSONL/JSON/CSV in any importable format, or .txt: one sample a line)
  --text        one sample given inline
  --pool        none (default): float32 [tokens, n_embd], every position of every sample in order,
                BOS and template tokens included; max|mean|last: [samples, n_embd] over t >= t0
  --no-template tokenize the raw text (with BOS if the model uses one); t0 = first token after BOS
  --kv f32      F32 KV cache and no flash attention (exact, slower); default f16
  --threads     CPU threads (default: the physical core count)
  --format      npy (default) or safetensors (one tensor "activations"); .safetensors names pick it
  --max-tokens  truncate each sample to N tokens (default 512)
  --context     context size in tokens (default: min(4096, the model's training context))
  --cpu         run on the CPU even when a GPU backend is available
  --template-engine auto|jinja|builtin
                jinja renders the model's template as Hugging Face does (default system prompts
                included); builtin uses llama.cpp's matcher; auto (default) tries jinja first
Writes <out> and a sidecar <out>.json: {"layer", "samples": [{"tokens", "offset", "t0"}], …}.`;

function positiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new FacetError('INVALID_ARGUMENT', `--${name} must be a positive integer (got '${value}').\n\n${help}`);
  return Number(value);
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

async function resolveModelPath(nameOrPath: string, ctx: CliContext): Promise<string> {
  const asPath = resolve(nameOrPath);
  const info = await stat(asPath).catch(() => undefined);
  if (info?.isFile() === true) return asPath;
  return (await resolveModel(ctx.openStore(), nameOrPath)).path;
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      layer: { type: 'string' },
      input: { type: 'string' },
      text: { type: 'string' },
      out: { type: 'string' },
      pool: { type: 'string', default: 'none' },
      'no-template': { type: 'boolean', default: false },
      kv: { type: 'string', default: 'f16' },
      threads: { type: 'string' },
      format: { type: 'string' },
      'max-tokens': { type: 'string', default: '512' },
      context: { type: 'string' },
      cpu: { type: 'boolean', default: false },
      'template-engine': { type: 'string', default: 'auto' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    ctx.out(help);
    return 0;
  }
  if (values.model === undefined || values.layer === undefined || values.out === undefined) {
    throw new FacetError('INVALID_ARGUMENT', `--model, --layer and --out are required.\n\n${help}`);
  }
  if ((values.input === undefined) === (values.text === undefined)) throw new FacetError('INVALID_ARGUMENT', `Give exactly one of --input or --text.\n\n${help}`);
  if (!/^\d+$/.test(values.layer)) throw new FacetError('LAYER_OUT_OF_RANGE', `--layer must be a 0-based block index (got '${values.layer}').`);
  const layer = Number(values.layer);
  const pool = values.pool as PoolMode;
  if (!poolModes.includes(pool)) throw new FacetError('INVALID_ARGUMENT', `--pool must be one of ${poolModes.join(', ')} (got '${values.pool}').`);
  if (values.kv !== 'f16' && values.kv !== 'f32') throw new FacetError('INVALID_ARGUMENT', `--kv must be f16 or f32 (got '${values.kv}').`);
  const kv = values.kv;
  const out = resolve(values.out);
  const format = (values.format ?? (out.endsWith('.safetensors') ? 'safetensors' : 'npy')) as ActivationFileFormat;
  if (format !== 'npy' && format !== 'safetensors') throw new FacetError('INVALID_ARGUMENT', `--format must be npy or safetensors (got '${values.format}').`);
  const named = out.endsWith('.safetensors') ? 'safetensors' : out.endsWith('.npy') ? 'npy' : undefined;
  if (named !== undefined && named !== format) {
    throw new FacetError('INVALID_ARGUMENT', `--out ${out} names a .${named} file but --format is ${format}: other tools would misread it. Rename the file or drop --format.`);
  }
  const threads = positiveInteger(values.threads, 'threads');
  const maxTokens = positiveInteger(values['max-tokens'], 'max-tokens')!;
  const contextSize = positiveInteger(values.context, 'context');
  const template = !values['no-template'];
  const templateEngine = values['template-engine'];
  if (templateEngine !== 'auto' && templateEngine !== 'jinja' && templateEngine !== 'builtin') {
    throw new FacetError('INVALID_ARGUMENT', `--template-engine must be auto, jinja or builtin (got '${templateEngine}').`);
  }

  const started = performance.now();
  const modelPath = await resolveModelPath(values.model, ctx);
  const inputs: InputSample[] = values.text !== undefined ? [{ text: values.text }] : await readInputSamples(resolve(values.input!), ctx.signal);
  const model = await ProbeModel.load(modelPath, { gpu: values.cpu ? false : 'auto', templateEngine, signal: ctx.signal });
  try {
    if (layer >= model.info.nLayer) {
      throw new FacetError('LAYER_OUT_OF_RANGE', `Layer ${layer} does not exist: ${modelPath} has blocks 0..${model.info.nLayer - 1} (0-based l_out-L).`, { layer, blocks: model.info.nLayer });
    }
    ctx.progress.start('tokenizing', inputs.length);
    const prepared: PreparedSample[] = await model.prepareAll(inputs, { template, maxTokens, signal: ctx.signal, onProgress: (done) => ctx.progress.update(done, inputs.length) });
    ctx.progress.finish();
    const context = await model.createContext({
      ...(contextSize === undefined ? {} : { contextSize }),
      kv,
      ...(threads === undefined ? {} : { threads }),
    });
    const nEmbd = model.info.nEmbd;
    const totalTokens = prepared.reduce((sum, sample) => sum + sample.tokens.length, 0);
    const rows = pool === 'none' ? totalTokens : prepared.length;
    const writer = await ActivationFileWriter.create(out, format, rows, nEmbd, { layer: String(layer), pool, model: modelPath });
    try {
      ctx.progress.start(`capturing l_out-${layer}`, prepared.length);
      await context.captureChunks(prepared.map((sample) => sample.tokens), { layers: [layer], signal: ctx.signal, onProgress: (done) => ctx.progress.update(done, prepared.length) }, async (chunk) => {
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
      ctx.progress.finish();
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
      model: modelPath,
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
    const seconds = (performance.now() - started) / 1000;
    const summary = { out, sidecar: `${out}.json`, layer, pool, format, samples: prepared.length, tokens: totalTokens, shape: [rows, nEmbd], seconds: Number(seconds.toFixed(3)) };
    if (ctx.json) ctx.printJson(summary);
    else ctx.out(`Wrote ${out} (${rows} × ${nEmbd} float32, l_out-${layer}, pool ${pool}) from ${prepared.length} samples / ${totalTokens} tokens in ${seconds.toFixed(1)} s; token ids and t0 in ${out}.json.`);
    return 0;
  } finally {
    model.dispose();
  }
}
