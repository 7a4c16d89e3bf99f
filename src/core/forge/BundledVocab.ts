import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';

const execFileAsync = promisify(execFile);

/** The vocabulary-only GGUF files of the llama.cpp source bundled with node-llama-cpp that the forge uses. */
export type BundledVocabName = 'llama-bpe' | 'llama-spm' | 'qwen2' | 'bert-bge';
const allNames: readonly BundledVocabName[] = ['llama-bpe', 'llama-spm', 'qwen2', 'bert-bge'];

export interface BundledVocabOptions {
  /** Folder holding extracted vocab files. Defaults to `FACET_VOCAB_CACHE`, else `<os tmpdir>/facet-vocab`. */
  cacheDir?: string;
  /** The git bundle to read from. Defaults to node-llama-cpp's `llama/gitRelease.bundle`. */
  bundlePath?: string;
}

/** Path of node-llama-cpp's bundled llama.cpp source (a git bundle). */
export function llamaSourceBundlePath(): string {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve('node-llama-cpp');
  } catch (error) {
    throw new FacetError('NOT_FOUND', 'node-llama-cpp is not installed, so its bundled llama.cpp source (and the vocabulary files in it) cannot be read. Run `npm install`.', {}, { cause: error });
  }
  // entry is <package>/dist/index.js
  return join(dirname(dirname(entry)), 'llama', 'gitRelease.bundle');
}

/** The commit the bundle holds, read from its text header (`# v2 git bundle` then `<sha> <ref>` lines). */
export async function bundleCommit(bundlePath: string): Promise<string> {
  let file;
  try {
    file = await open(bundlePath, 'r');
  } catch (error) {
    throw new FacetError('NOT_FOUND', `The llama.cpp source bundle ${bundlePath} is missing. Reinstall node-llama-cpp (npm install).`, { path: bundlePath }, { cause: error });
  }
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const lines = head.toString('latin1', 0, bytesRead).split('\n');
    if (!/^# v[23] git bundle$/.test(lines[0] ?? '')) throw new FacetError('NOT_FOUND', `${bundlePath} is not a git bundle. Reinstall node-llama-cpp.`, { path: bundlePath });
    for (const line of lines.slice(1)) {
      const match = /^([0-9a-f]{40}) /.exec(line);
      if (match?.[1] !== undefined) return match[1];
    }
    throw new FacetError('NOT_FOUND', `${bundlePath} names no commit. Reinstall node-llama-cpp.`, { path: bundlePath });
  } finally {
    await file.close();
  }
}

/**
 * Path of `models/ggml-vocab-<name>.gguf` from the bundled llama.cpp source, extracted once into
 * `<cacheDir>/<bundle commit>/` (needs `git`). Safe to call from parallel processes: each file
 * appears by an atomic rename.
 */
export async function bundledVocabPath(name: BundledVocabName, options: BundledVocabOptions = {}): Promise<string> {
  const bundlePath = options.bundlePath ?? llamaSourceBundlePath();
  const commit = await bundleCommit(bundlePath);
  const folder = join(options.cacheDir ?? process.env.FACET_VOCAB_CACHE ?? join(tmpdir(), 'facet-vocab'), commit);
  const target = join(folder, `ggml-vocab-${name}.gguf`);
  if (await exists(target)) return target;
  // One clone costs about a second: extract every vocab the forge knows while it is there.

  await mkdir(folder, { recursive: true });
  const clone = await mkdtemp(join(folder, '.clone-'));
  try {
    try {
      await execFileAsync('git', ['clone', '--quiet', '--no-checkout', bundlePath, clone], { timeout: 120_000 });
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new FacetError(
        'NOT_FOUND',
        missing
          ? 'git is needed to read the vocabulary files from node-llama-cpp\'s bundled llama.cpp source. Install git and retry.'
          : `Could not read the llama.cpp source bundle ${bundlePath}: ${(error as Error).message.trim()}. Reinstall node-llama-cpp.`,
        { bundlePath },
        { cause: error },
      );
    }
    for (const each of allNames) {
      const eachTarget = join(folder, `ggml-vocab-${each}.gguf`);
      if (each !== name && (await exists(eachTarget))) continue;
      const { stdout } = await execFileAsync('git', ['-C', clone, 'show', `HEAD:models/ggml-vocab-${each}.gguf`], { encoding: 'buffer', maxBuffer: 256 << 20 });
      const part = `${eachTarget}.part-${process.pid}`;
      await writeFile(part, stdout);
      await rename(part, eachTarget);
    }
  } finally {
    await rm(clone, { recursive: true, force: true });
  }
  return target;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
