import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Physical CPU cores (not hyper-threads): llama.cpp runs slower, sometimes far slower, with more
 * threads than physical cores. Linux: distinct (package, core) pairs in /proc/cpuinfo; macOS:
 * `sysctl hw.physicalcpu`; elsewhere or on failure: the logical count.
 */
export async function physicalCoreCount(): Promise<number> {
  const logical = availableParallelism();
  try {
    if (process.platform === 'linux') {
      const text = await readFile('/proc/cpuinfo', 'utf8');
      const cores = new Set<string>();
      for (const block of text.split(/\n\s*\n/)) {
        const physical = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
        const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
        if (physical !== undefined && core !== undefined) cores.add(`${physical}:${core}`);
      }
      // Containers may expose fewer CPUs than the host has cores.
      return cores.size > 0 ? Math.min(cores.size, logical) : logical;
    }
    if (process.platform === 'darwin') {
      const { stdout } = await execFileAsync('sysctl', ['-n', 'hw.physicalcpu'], { timeout: 5000 });
      const n = Number.parseInt(stdout.trim(), 10);
      return Number.isInteger(n) && n > 0 ? n : logical;
    }
  } catch {
    // fall through to the logical count
  }
  return logical;
}
