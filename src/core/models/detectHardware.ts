import { cpus, freemem, totalmem } from 'node:os';
import { loadLlamaBackend } from '../llama/LlamaBackend.ts';
import { physicalCoreCount } from '../llama/physicalCoreCount.ts';

export interface HardwareReport {
  /** Backend node-llama-cpp selected: `cuda`, `vulkan`, `metal` or `cpu`. */
  backend: string;
  /** GPU device names (empty on CPU). */
  devices: string[];
  vram: { totalBytes: number; usedBytes: number; freeBytes: number } | null;
  ram: { totalBytes: number; freeBytes: number };
  cpu: { model: string; physicalCores: number; logicalCores: number; mathCores: number };
  /** Threads Facet uses by default: the physical cores. */
  defaultThreads: number;
  llamaCpp: { release: string; buildType: string };
}

/**
 * Reports the llama.cpp backend the process uses (the same one capture and generation use:
 * `gpu: 'auto'` tries CUDA, Vulkan, Metal, then the CPU), its devices, memory and cores.
 * Never builds llama.cpp.
 */
export async function detectHardware(options: { gpu?: 'auto' | false } = {}): Promise<HardwareReport> {
  const { llama } = await loadLlamaBackend({ gpu: options.gpu ?? 'auto' });
  const backend = llama.gpu === false ? 'cpu' : llama.gpu;
  const devices = llama.gpu === false ? [] : await llama.getGpuDeviceNames();
  const vramState = llama.gpu === false ? null : await llama.getVramState();
  const physicalCores = physicalCoreCount();
  const cpuList = cpus();
  return {
    backend,
    devices,
    vram: vramState === null ? null : { totalBytes: vramState.total, usedBytes: vramState.used, freeBytes: vramState.free },
    ram: { totalBytes: totalmem(), freeBytes: freemem() },
    cpu: { model: cpuList[0]?.model.trim() ?? 'unknown', physicalCores, logicalCores: cpuList.length, mathCores: llama.cpuMathCores },
    defaultThreads: physicalCores,
    llamaCpp: { release: llama.llamaCppRelease.release, buildType: llama.buildType },
  };
}
