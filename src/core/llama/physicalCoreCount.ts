import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Physical CPU cores (hyper-threads not counted): llama.cpp slows down sharply when it runs more
 * threads than cores. Linux reads /proc/cpuinfo, macOS asks `sysctl hw.physicalcpu`; elsewhere or
 * on failure, the logical count.
 */
export function physicalCoreCount(): number {
  const logical = availableParallelism();
  if (process.platform === 'darwin') {
    try {
      const n = Number.parseInt(execFileSync('sysctl', ['-n', 'hw.physicalcpu'], { timeout: 5000, encoding: 'utf8' }).trim(), 10);
      return Number.isInteger(n) && n > 0 ? n : logical;
    } catch {
      return logical;
    }
  }
  if (process.platform !== 'linux') return logical;
  try {
    const cores = new Set<string>();
    let physical = '0';
    for (const line of readFileSync('/proc/cpuinfo', 'utf8').split('\n')) {
      const [key, value] = line.split(':').map((part) => part.trim());
      if (key === 'physical id') physical = value ?? '0';
      else if (key === 'core id') cores.add(`${physical}:${value ?? ''}`);
    }
    return cores.size > 0 ? Math.min(cores.size, logical) : logical;
  } catch {
    return logical;
  }
}

/** Default llama.cpp thread count: at most the physical cores. */
export function defaultThreadCount(): number {
  return Math.max(1, physicalCoreCount());
}
