import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import { SAE_FORMAT_LAYOUTS, SAE_FORMATS, type SaeFormat } from '../SaeConfig.ts';
import { getSaeArchitecture } from '../SaeArchitecture.ts';
import { dictionaryLearningLoader } from './dictionaryLearningLoader.ts';
import { facetSaeLoader } from './facetSaeFormat.ts';
import { gemmaScopeLoader } from './gemmaScopeLoader.ts';
import { llamaScopeLoader } from './llamaScopeLoader.ts';
import { paperCheckpointLoader } from './paperCheckpointLoader.ts';
import { pathKind } from './pathKind.ts';
import { qwenScopeLoader } from './qwenScopeLoader.ts';
import type { LoadedSae, SaeLoader, SaeLoadOptions } from './SaeLoader.ts';
import { saeLensLoader } from './saeLensLoader.ts';
import { sparsifyLoader } from './sparsifyLoader.ts';
import { unknownTorchSaeError } from './torchSaeLayout.ts';

/** Loaders keyed by format; detection tries them in this order. */
export const SAE_LOADERS: Record<SaeFormat, SaeLoader> = {
  facet: facetSaeLoader,
  saelens: saeLensLoader,
  sparsify: sparsifyLoader,
  'llama-scope': llamaScopeLoader,
  'gemma-scope': gemmaScopeLoader,
  'dictionary-learning': dictionaryLearningLoader,
  'paper-pth': paperCheckpointLoader,
  'qwen-scope': qwenScopeLoader,
};

export function getSaeLoader(format: string): SaeLoader {
  const loader = (SAE_LOADERS as Record<string, SaeLoader | undefined>)[format];
  if (loader === undefined) throw new FacetError('SAE_FORMAT_UNKNOWN', `Unknown SAE format '${format}'. Facet reads ${SAE_FORMATS.join(', ')}.`, { format });
  return loader;
}

function isTorchFile(path: string): boolean {
  return /\.(pth|pt)$/i.test(path);
}

/**
 * The folder (or `.pt`/`.pth` file) an SAE path designates: a config or weight file inside an SAE
 * folder stands for its folder, and so does dictionary_learning's `ae.pt` next to its config.json.
 */
async function normalisePath(path: string): Promise<string> {
  const absolute = resolve(path);
  let info;
  try {
    info = await stat(absolute);
  } catch {
    throw new FacetError('SAE_FILE_INVALID', `${absolute} does not exist. Check the path.`, { file: absolute });
  }
  if (!info.isFile()) return absolute;
  if (!isTorchFile(absolute)) return dirname(absolute);
  if (basename(absolute) === 'ae.pt' && (await pathKind(join(dirname(absolute), 'config.json'))) === 'file') return dirname(absolute);
  return absolute;
}

/**
 * One line naming the layouts Facet reads (the full specification, tensor names and shapes, is
 * `SAE_FORMAT_LAYOUTS`, shown by `facet sae info` and in the README).
 */
export const SAE_ACCEPTED_SHORT =
  'Facet reads an SAE folder (SAELens, sparsify, Llama Scope, Gemma Scope params.npz, dictionary_learning or Facet\'s own; .safetensors/.json/.npz files inside it) or a .pt/.pth checkpoint (the paper\'s, Qwen-Scope).';

/** Files that may stand for the SAE folder they sit in. */
function isSaeFolderFile(path: string): boolean {
  return /\.(safetensors|json|npz|pt|pth)$/i.test(path);
}

/** Detects the format of `path`; `SAE_FORMAT_UNKNOWN` names the path given, what was found and (in one line) what Facet reads. */
export async function detectSaeFormat(path: string): Promise<{ format: SaeFormat; path: string }> {
  const given = resolve(path);
  const target = await normalisePath(path);
  // A file of no SAE kind (a photo, a text file): name it, not the folder it sits in.
  if (target !== given && !isSaeFolderFile(given)) {
    throw new FacetError('SAE_FORMAT_UNKNOWN', `${basename(given)} is a file that is not an SAE (not .safetensors, .json, .npz, .pt or .pth). ${SAE_ACCEPTED_SHORT}`, { file: given, name: basename(given) });
  }
  const kind = await pathKind(target);
  for (const format of Object.keys(SAE_LOADERS) as SaeFormat[]) {
    const loader = SAE_LOADERS[format];
    if ((loader.kind === 'file') !== (kind === 'file')) continue;
    if (await loader.detect(target)) return { format, path: target };
  }
  // A torch.save dict of no known layout: name its keys and shapes (or the reason it cannot be opened).
  if (kind === 'file' && isTorchFile(target)) throw await unknownTorchSaeError(target);
  let found = '';
  try {
    found = kind === 'directory' ? ` It contains: ${(await readdir(target)).slice(0, 12).join(', ') || 'nothing'}.` : '';
  } catch {
    found = '';
  }
  const what = target === given ? target : `${basename(given)} (in ${target})`;
  throw new FacetError('SAE_FORMAT_UNKNOWN', `${what} is not an SAE Facet recognises.${found} ${SAE_ACCEPTED_SHORT}`, { file: given, name: basename(given) });
}

/** Detects (or takes) the format and loads; the result is validated for its architecture. */
export async function loadSae(path: string, options: SaeLoadOptions & { format?: SaeFormat } = {}): Promise<LoadedSae> {
  let detected: { format: SaeFormat; path: string };
  if (options.format !== undefined) {
    const target = await normalisePath(path);
    const loader = getSaeLoader(options.format);
    const kind = await pathKind(target);
    if ((loader.kind === 'file') !== (kind === 'file')) {
      throw new FacetError(
        'SAE_FILE_INVALID',
        `${target} is a ${kind === 'file' ? 'file' : 'folder'}, but --format ${options.format} reads ${loader.kind === 'file' ? 'one .pt/.pth file' : 'a folder'} (${SAE_FORMAT_LAYOUTS[options.format]}). Give the ${loader.kind === 'file' ? 'file' : 'folder'}, or leave out --format to detect.`,
        { file: target, format: options.format },
      );
    }
    detected = { format: options.format, path: target };
  } else {
    detected = await detectSaeFormat(path);
  }
  const loaded = await getSaeLoader(detected.format).load(detected.path, options);
  getSaeArchitecture(loaded.config.architecture).validate(loaded.config, loaded.weights.threshold !== null);
  return loaded;
}
