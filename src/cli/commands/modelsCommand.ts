import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import type { ModelRecord } from '../../core/models/ModelRecord.ts';
import { ModelService } from '../../core/models/ModelService.ts';
import type { ModelSummary } from '../../shared/registryTypes.ts';
import type { ModelQuantizeSummary } from '../../core/models/modelQuantizeJob.ts';
import type { CliContext } from '../CliContext.ts';
import { openCliEngine } from '../openCliEngine.ts';
import { followJob } from '../runEngineJob.ts';
import { formatTable } from '../formatTable.ts';
import { formatBytes, formatCount } from '../../shared/formatNumber.ts';

const help = `Usage:
  facet models add <file.gguf> [--name N]   register a local GGUF (reads its metadata, hashes it)
  facet models list
  facet models info <name>
  facet models remove <name>                forget a model (the file is kept)
  facet models quantize <model> --type q8_0|q4_k_m|… --out FILE.gguf [--name N] [--threads T]
                                            llama.cpp's own quantizer; --name registers the result
  facet models pull <hf:user/repo:quant | hf:user/repo/file.gguf | https://…> [--name N] [--timeout S]
                                            download into <workspace>/models and register it;
                                            --timeout: give up after S seconds without data (default 30)

A model argument anywhere in Facet accepts a registered name or a path to a .gguf file.`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      timeout: { type: 'string' },
      type: { type: 'string' },
      out: { type: 'string' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const [sub, target] = positionals;
  if (values.help || sub === undefined) {
    ctx.out(help);
    return values.help ? 0 : 2;
  }
  const service = new ModelService(ctx.openStore());
  const needTarget = (what: string): string => {
    if (target === undefined) throw new FacetError('INVALID_ARGUMENT', `facet models ${sub} needs ${what}.\n\n${help}`);
    return target;
  };
  switch (sub) {
    case 'add': {
      const file = resolve(needTarget('a .gguf file'));
      // the model.add job of the Models page: 'facet jobs list' and a 'facet serve' on this workspace follow it
      const engine = openCliEngine(ctx);
      try {
        const job = await engine.call('models.add', { path: file, ...(values.name !== undefined ? { name: values.name } : {}) });
        const { alreadyRegistered, ...model } = (await followJob(engine, ctx, job, 'Hashing')).result as ModelSummary & { alreadyRegistered: boolean };
        report(ctx, { model, alreadyRegistered });
      } finally {
        await engine.close();
      }
      return 0;
    }
    case 'list': {
      const models = service.list();
      if (ctx.json) ctx.printJson(models.map(withoutTemplate));
      else if (models.length === 0) ctx.out('No models registered. Add one with: facet models add <file.gguf>');
      else ctx.out(formatTable(['name', 'arch', 'blocks', 'n_embd', 'quant', 'size', 'path'], models.map((m) => [m.name, m.architecture, formatCount(m.blockCount), formatCount(m.embeddingLength), m.quantization, formatBytes(m.sizeBytes), m.path])));
      return 0;
    }
    case 'info': {
      const model = service.get(needTarget('a model name'));
      if (ctx.json) ctx.printJson(model);
      else ctx.out(describeModel(model));
      return 0;
    }
    case 'quantize': {
      const model = needTarget('the model to quantize');
      if (values.type === undefined || values.out === undefined) throw new FacetError('INVALID_ARGUMENT', `facet models quantize needs --type (e.g. q8_0, q4_k_m) and --out FILE.gguf.`);
      const threads = values.threads === undefined ? undefined : Number(values.threads);
      if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new FacetError('INVALID_ARGUMENT', `--threads must be a positive integer (got '${values.threads}').`);
      // the model.quantize job: 'facet jobs list' and the Jobs page of a 'facet serve' on this workspace follow it
      const engine = openCliEngine(ctx);
      try {
        const job = await engine.call('models.quantize', { model, type: values.type, out: resolve(values.out), ...(threads !== undefined ? { threads } : {}), ...(values.name !== undefined ? { name: values.name } : {}) });
        const result = (await followJob(engine, ctx, job, `Quantizing to ${values.type}`)).result as ModelQuantizeSummary;
        if (ctx.json) ctx.printJson(result);
        else ctx.out(`Wrote ${result.out} (${result.type}, ${(result.bytes / 1e6).toFixed(1)} MB from ${(result.inputBytes / 1e6).toFixed(1)} MB) in ${result.seconds.toFixed(1)} s${result.registered !== null ? `; registered as '${result.registered}'` : ''}.`);
      } finally {
        await engine.close();
      }
      return 0;
    }
    case 'remove': {
      const model = service.remove(needTarget('a model name'));
      if (ctx.json) ctx.printJson({ removed: model.name, path: model.path });
      else ctx.out(`Removed '${model.name}' from the registry (the file ${model.path} is kept).`);
      return 0;
    }
    case 'pull': {
      const uri = needTarget('an hf: URI or an https:// URL');
      let stallTimeoutMs: number | undefined;
      if (values.timeout !== undefined) {
        const seconds = Number(values.timeout);
        if (!Number.isFinite(seconds) || seconds <= 0) throw new FacetError('INVALID_ARGUMENT', `--timeout must be a positive number of seconds (got '${values.timeout}').`);
        stallTimeoutMs = seconds * 1000;
      }
      // the model.pull job: 'facet jobs list' and the Jobs page of a 'facet serve' on this workspace follow it
      const engine = openCliEngine(ctx);
      try {
        const job = await engine.call('models.pull', { uri, ...(values.name !== undefined ? { name: values.name } : {}), ...(stallTimeoutMs !== undefined ? { stallTimeoutSeconds: stallTimeoutMs / 1000 } : {}) });
        const { alreadyRegistered, ...model } = (await followJob(engine, ctx, job, 'Downloading')).result as ModelSummary & { alreadyRegistered: boolean };
        report(ctx, { model, alreadyRegistered });
      } finally {
        await engine.close();
      }
      return 0;
    }
    default:
      throw new FacetError('INVALID_ARGUMENT', `Unknown subcommand 'models ${sub}'.\n\n${help}`);
  }
}

function report(ctx: CliContext, { model, alreadyRegistered }: { model: ModelSummary; alreadyRegistered: boolean }): void {
  if (ctx.json) ctx.printJson({ ...model, alreadyRegistered });
  else ctx.out(`${alreadyRegistered ? 'Already registered' : 'Registered'} '${model.name}': ${model.architecture}, ${model.blockCount ?? '?'} blocks, n_embd ${model.embeddingLength ?? '?'}, ${model.quantization}, ${formatBytes(model.sizeBytes)}.`);
}

function withoutTemplate(model: ModelRecord): Omit<ModelRecord, 'chatTemplate'> & { hasChatTemplate: boolean } {
  const { chatTemplate, ...rest } = model;
  return { ...rest, hasChatTemplate: chatTemplate !== null };
}

function describeModel(m: ModelRecord): string {
  const rows: [string, string | number][] = [
    ['name', m.name],
    ['path', m.path],
    ['architecture', m.architecture],
    ['blocks (layers 0..n-1)', m.blockCount ?? '?'],
    ['n_embd', m.embeddingLength ?? '?'],
    ['heads / KV heads', `${m.headCount ?? '?'} / ${m.headCountKv ?? '?'}`],
    ['context length (trained)', m.contextLength ?? '?'],
    ['vocabulary', m.vocabSize ?? '?'],
    ['quantization', m.quantization],
    ['tokenizer', `${m.tokenizerModel ?? '?'} (pre: ${m.tokenizerPre ?? '?'})`],
    ['chat template', m.chatTemplate === null ? 'none' : `${m.chatTemplate.length} characters`],
    ['size', formatBytes(m.sizeBytes)],
    ['sha256', m.contentHash],
    ['source', m.source],
    ['added', m.addedAt],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** Byte sizes in the CLI read as on every page (src/shared/formatNumber). */
export { formatBytes };
