import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ActivationCaptureSummary } from '../../shared/activationTypes.ts';
import { FacetError } from '../../shared/FacetError.ts';
import type { ActivationFileFormat } from '../../core/llama/ActivationFileWriter.ts';
import { poolModes, type PoolMode } from '../../core/llama/poolActivations.ts';
import type { CliContext } from '../CliContext.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';

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
Writes <out> and a sidecar <out>.json: {"layer", "samples": [{"tokens", "offset", "t0"}], …}.
Runs as an 'activations.capture' job of the workspace ('facet jobs list' and the Jobs page of a
'facet serve' on the same workspace show it live; Ctrl-C cancels it and deletes the partial file).`;

function positiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new FacetError('INVALID_ARGUMENT', `--${name} must be a positive integer (got '${value}').\n\n${help}`);
  return Number(value);
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

  const engine = openCliEngine(ctx);
  try {
    // the activations.capture job: 'facet jobs list' and the Jobs page of a 'facet serve' on this workspace follow it
    const job = await engine.call('activations.capture', {
      model: values.model,
      layer,
      ...(values.text !== undefined ? { text: values.text } : { input: resolve(values.input!) }),
      out,
      format,
      pool,
      template,
      templateEngine,
      kv,
      maxTokens,
      ...(contextSize !== undefined ? { contextSize } : {}),
      ...(threads !== undefined ? { threads } : {}),
      cpu: values.cpu,
    });
    const summary = (await followJob(engine, ctx, job, `capturing l_out-${layer} (samples tokenized, then captured)`)).result as ActivationCaptureSummary;
    const [rows, nEmbd] = summary.shape;
    if (ctx.json) ctx.printJson(summary);
    else ctx.out(`Wrote ${out} (${rows} × ${nEmbd} float32, l_out-${layer}, pool ${pool}) from ${summary.samples} samples / ${summary.tokens} tokens in ${summary.seconds.toFixed(1)} s; token ids and t0 in ${out}.json.`);
    return 0;
  } finally {
    await engine.close();
  }
}
