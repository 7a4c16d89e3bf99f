import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Llama, LlamaGpuType } from 'node-llama-cpp';
import { FacetError } from '../../shared/FacetError.ts';
import type { NativeBindResult, ProbeAddon } from './ProbeAddon.ts';

/** Which compute backend to use: `'auto'` tries CUDA, Vulkan, Metal, then CPU. */
export type LlamaGpuChoice = 'auto' | false | 'cuda' | 'vulkan' | 'metal';

export interface LlamaBackend {
  /** node-llama-cpp's instance: it chose and loaded the llama.cpp libraries. */
  llama: Llama;
  addon: ProbeAddon;
  /** The backend in use (false = CPU). */
  gpu: LlamaGpuType;
  binding: NativeBindResult;
}

const addonPath = process.env.FACET_PROBE_ADDON ?? findAddon();

/** `native/build/facet_probe.node` in the nearest folder above this module (sources or a bundle in out/). */
function findAddon(): string {
  const relative = join('native', 'build', 'facet_probe.node');
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== dirname(dir)) {
    if (existsSync(join(dir, relative))) return join(dir, relative);
    dir = dirname(dir);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../..', relative);
}

let pending: Promise<LlamaBackend> | undefined;
let pendingChoice: LlamaGpuChoice | undefined;

/**
 * Loads llama.cpp once per process: node-llama-cpp picks the backend variant and maps its
 * libraries, then the probe addon binds to those same libraries (one copy, one backend registry).
 * Later calls return the same backend; asking for a different GPU choice afterwards is an error.
 */
export function loadLlamaBackend(options: { gpu?: LlamaGpuChoice } = {}): Promise<LlamaBackend> {
  const choice = options.gpu ?? 'auto';
  if (pending !== undefined) {
    if (choice !== pendingChoice && choice !== 'auto') {
      return pending.then((backend) => {
        if (backend.gpu !== choice) {
          throw new FacetError('INVALID_ARGUMENT', `llama.cpp is already loaded with backend '${backend.gpu || 'cpu'}' in this process; it cannot switch to '${choice || 'cpu'}'. Restart Facet to change the backend.`);
        }
        return backend;
      });
    }
    return pending;
  }
  pendingChoice = choice;
  pending = startBackend(choice);
  pending.catch(() => {
    pending = undefined;
    pendingChoice = undefined;
  });
  return pending;
}

async function startBackend(choice: LlamaGpuChoice): Promise<LlamaBackend> {
  let llama: Llama;
  try {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    llama = await getLlama({
      gpu: choice,
      build: 'never',
      logLevel: process.env.FACET_LLAMA_LOG === undefined ? LlamaLogLevel.disabled : LlamaLogLevel.debug,
    });
  } catch (error) {
    throw new FacetError(
      'ADDON_LOAD_FAILED',
      `node-llama-cpp could not load a prebuilt llama.cpp for backend '${choice || 'cpu'}': ${error instanceof Error ? error.message : String(error)}. Reinstall with \`npm install\` (its platform packages carry the libraries) or choose the CPU backend.`,
      { gpu: choice },
      { cause: error },
    );
  }
  const addon = requireAddon();
  let binding: NativeBindResult;
  try {
    binding = addon.bind(llamaLibraryNames(llama.gpu), null);
  } catch (error) {
    throw new FacetError(
      'ADDON_LOAD_FAILED',
      `The probe addon could not bind to llama.cpp: ${error instanceof Error ? error.message : String(error)}. Rebuild it against the installed node-llama-cpp with \`npm run build:native\`.`,
      { addonPath },
      { cause: error },
    );
  }
  return { llama, addon, gpu: llama.gpu, binding };
}

function requireAddon(): ProbeAddon {
  if (!existsSync(addonPath)) {
    throw new FacetError('ADDON_LOAD_FAILED', `The llama.cpp probe addon is not built (${addonPath} is missing). Run \`npm run build:native\` (needs g++ or clang++ and git).`, { addonPath });
  }
  try {
    const require = createRequire(import.meta.url);
    const addon = require(addonPath) as ProbeAddon;
    if (addon.abiVersion !== 4) throw new Error(`the built addon has interface version ${String(addon.abiVersion)}, this Facet needs 4`);
    return addon;
  } catch (error) {
    throw new FacetError(
      'ADDON_LOAD_FAILED',
      `The llama.cpp probe addon at ${addonPath} cannot be loaded: ${error instanceof Error ? error.message : String(error)}. Rebuild it with \`npm run build:native\`.`,
      { addonPath },
      { cause: error },
    );
  }
}

/**
 * File names of the llama library of the chosen backend variant, read from the installed
 * node-llama-cpp binary packages (the CPU, CUDA, Vulkan and Metal variants carry different
 * sonames, e.g. libllama.cuda.v0.5.0.so). The addon accepts only one that is already mapped.
 */
export function llamaLibraryNames(gpu: LlamaGpuType): string[] {
  const names = new Set<string>();
  const require = createRequire(import.meta.url);
  let packageRoot: string;
  try {
    packageRoot = dirname(dirname(require.resolve('node-llama-cpp')));
  } catch {
    return ['libllama.so', 'libllama.dylib', 'llama.dll'];
  }
  for (const scopeDir of [join(packageRoot, 'node_modules', '@node-llama-cpp'), join(dirname(packageRoot), '@node-llama-cpp')]) {
    if (!existsSync(scopeDir)) continue;
    for (const pkg of readdirSync(scopeDir)) {
      const bins = join(scopeDir, pkg, 'bins');
      if (!existsSync(bins)) continue;
      for (const variant of readdirSync(bins)) {
        const folder = join(bins, variant);
        let files: string[];
        try {
          files = readdirSync(folder);
        } catch {
          continue;
        }
        for (const file of files) if (/^(lib)?llama(\.[\w-]+)*\.(so|dylib|dll)$/.test(file) && !file.includes('common')) names.add(file);
      }
    }
  }
  for (const fallback of ['libllama.so', 'libllama.dylib', 'llama.dll']) names.add(fallback);
  // the chosen variant first (another variant may be mapped too if other code asked for it)
  const variantTag = /\.(cuda|vulkan|metal)\./;
  const preferred = [...names].filter((name) => (gpu === false ? !variantTag.test(name) : name.includes(`.${gpu}.`)));
  // binding to another variant than the one node-llama-cpp chose would split llama.cpp in two
  return preferred.length > 0 ? preferred : [...names];
}
