import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import { detectHardware } from '../../core/models/detectHardware.ts';
import { estimateModelMemory, type MemoryEstimate } from '../../core/models/estimateModelMemory.ts';
import { readModelMetadata } from '../../core/models/ModelMetadata.ts';
import { resolveModel } from '../../core/models/ModelService.ts';
import type { CliContext } from '../CliContext.ts';
import { formatBytes } from './modelsCommand.ts';

const help = `Usage:
  facet hardware [--cpu] [--model M [--context N] [--kv f16|f32]]

Shows the llama.cpp backend node-llama-cpp selects (CUDA, Vulkan, Metal or CPU), GPU devices,
VRAM and RAM, CPU cores, and with --model (a registered name or a .gguf path) the memory the
model needs: weights + KV cache (2 x blocks x context x KV heads x head size x 2 or 4 bytes).
  --cpu        skip GPU detection
  --context    context size for the estimate (default: the model's trained context, at most 4096)
  --kv         KV cache type (default f16)`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cpu: { type: 'boolean', default: false },
      model: { type: 'string' },
      context: { type: 'string' },
      kv: { type: 'string', default: 'f16' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    ctx.out(help);
    return 0;
  }
  if (values.kv !== 'f16' && values.kv !== 'f32') throw new FacetError('INVALID_ARGUMENT', `--kv must be f16 or f32 (got '${values.kv}').`);
  const kvType = values.kv;
  let contextArg: number | undefined;
  if (values.context !== undefined) {
    if (!/^\d+$/.test(values.context) || Number(values.context) < 1) throw new FacetError('INVALID_ARGUMENT', `--context must be a positive integer (got '${values.context}').`);
    contextArg = Number(values.context);
  }

  let estimate: (MemoryEstimate & { model: string; path: string }) | undefined;
  if (values.model !== undefined) {
    const resolved = await resolveModel(ctx.openStore(), values.model);
    const meta = await readModelMetadata(resolved.path, { signal: ctx.signal });
    if (meta.blockCount === null || meta.headCountKv === null || meta.headDim === null) {
      throw new FacetError('MODEL_ARCH_UNSUPPORTED', `${resolved.path} (${meta.architecture}) does not state its blocks and attention heads, so its KV cache cannot be estimated.`, { path: resolved.path });
    }
    const contextSize = contextArg ?? Math.min(meta.contextLength ?? 4096, 4096);
    estimate = { model: resolved.record?.name ?? resolved.path, path: resolved.path, ...estimateModelMemory({ weightsBytes: meta.weightsBytes, blockCount: meta.blockCount, headCountKv: meta.headCountKv, headDim: meta.headDim }, contextSize, kvType) };
  }

  const hardware = await detectHardware({ gpu: values.cpu ? false : 'auto' });
  if (ctx.json) {
    ctx.printJson({ ...hardware, ...(estimate !== undefined ? { estimate } : {}) });
    return 0;
  }
  const lines = [
    `backend        ${hardware.backend}${hardware.devices.length > 0 ? ` (${hardware.devices.join(', ')})` : ''}`,
    `VRAM           ${hardware.vram === null ? 'none' : `${formatBytes(hardware.vram.freeBytes)} free of ${formatBytes(hardware.vram.totalBytes)}`}`,
    `RAM            ${formatBytes(hardware.ram.freeBytes)} free of ${formatBytes(hardware.ram.totalBytes)}`,
    `CPU            ${hardware.cpu.model}: ${hardware.cpu.physicalCores} physical / ${hardware.cpu.logicalCores} logical cores`,
    `threads        ${hardware.defaultThreads} by default (physical cores)`,
    `llama.cpp      ${hardware.llamaCpp.release} (${hardware.llamaCpp.buildType})`,
  ];
  if (estimate !== undefined) {
    const budget = hardware.vram?.freeBytes ?? hardware.ram.freeBytes;
    lines.push(
      '',
      `model          ${estimate.model}`,
      `weights        ${formatBytes(estimate.weightsBytes)}`,
      `KV cache       ${formatBytes(estimate.kvCacheBytes)} (${estimate.contextSize} tokens, ${estimate.kvType})`,
      `total          ${formatBytes(estimate.totalBytes)} + compute buffers: ${estimate.totalBytes < budget ? 'fits' : 'does NOT fit'} in free ${hardware.vram !== null ? 'VRAM' : 'RAM'}`,
    );
  }
  ctx.out(lines.join('\n'));
  return 0;
}
