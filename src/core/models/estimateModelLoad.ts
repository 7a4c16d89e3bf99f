import { freemem, totalmem } from 'node:os';
import type { ModelLoadEstimate } from '../../shared/registryTypes.ts';
import { readGgufHeader } from '../gguf/GgufReader.ts';
import type { Store } from '../store/Store.ts';
import { detectHardware } from './detectHardware.ts';
import { estimateModelMemory } from './estimateModelMemory.ts';
import { summarizeGguf } from './ModelMetadata.ts';
import { resolveModel } from './ModelService.ts';

/**
 * The memory a model needs at a context size, read from its GGUF header (parameter count, weights,
 * KV cache), beside the RAM and VRAM the machine has free, before anything is loaded. With
 * `gpu: false` the GPU is not probed (the CPU backend is reported).
 */
export async function estimateModelLoad(store: Store, model: string, options: { contextSize?: number; kvType?: 'f16' | 'f32'; gpu?: 'auto' | false } = {}): Promise<ModelLoadEstimate> {
  const resolved = await resolveModel(store, model);
  const header = await readGgufHeader(resolved.path);
  const meta = summarizeGguf(header);
  const parameterCount = header.tensors.reduce((sum, tensor) => sum + tensor.elementCount, 0);
  const contextSize = options.contextSize ?? Math.min(meta.contextLength ?? 4096, 4096);
  const kvType = options.kvType ?? 'f16';
  const kvCacheBytes =
    meta.blockCount !== null && meta.headCountKv !== null && meta.headDim !== null
      ? estimateModelMemory({ weightsBytes: meta.weightsBytes, blockCount: meta.blockCount, headCountKv: meta.headCountKv, headDim: meta.headDim }, contextSize, kvType).kvCacheBytes
      : null;
  const totalBytes = meta.weightsBytes + (kvCacheBytes ?? 0);
  const hardware = options.gpu === false ? null : await detectHardware({ gpu: 'auto' });
  const ram = { totalBytes: totalmem(), freeBytes: freemem() };
  const vram = hardware?.vram ? { totalBytes: hardware.vram.totalBytes, freeBytes: hardware.vram.freeBytes } : null;
  return {
    model: resolved.record?.name ?? resolved.path,
    path: resolved.path,
    parameterCount,
    fileBytes: meta.sizeBytes,
    weightsBytes: meta.weightsBytes,
    contextSize,
    kvType,
    kvCacheBytes,
    totalBytes,
    ram,
    backend: hardware?.backend ?? 'cpu',
    gpuDevices: hardware?.devices ?? [],
    vram,
    fits: vram !== null && totalBytes < vram.freeBytes ? 'vram' : totalBytes < ram.freeBytes ? 'ram' : 'no',
  };
}
