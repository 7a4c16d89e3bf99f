import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import { SAE_FORMATS, type SaeFormat } from '../SaeConfig.ts';
import { getSaeArchitecture } from '../SaeArchitecture.ts';
import { facetSaeLoader } from './facetSaeFormat.ts';
import { llamaScopeLoader } from './llamaScopeLoader.ts';
import { paperCheckpointLoader } from './paperCheckpointLoader.ts';
import type { LoadedSae, SaeLoader, SaeLoadOptions } from './SaeLoader.ts';
import { saeLensLoader } from './saeLensLoader.ts';
import { sparsifyLoader } from './sparsifyLoader.ts';

/** Loaders keyed by format; detection tries them in this order. */
export const SAE_LOADERS: Record<SaeFormat, SaeLoader> = {
  facet: facetSaeLoader,
  saelens: saeLensLoader,
  sparsify: sparsifyLoader,
  'llama-scope': llamaScopeLoader,
  'paper-pth': paperCheckpointLoader,
};

export function getSaeLoader(format: string): SaeLoader {
  const loader = (SAE_LOADERS as Record<string, SaeLoader | undefined>)[format];
  if (loader === undefined) throw new FacetError('SAE_FORMAT_UNKNOWN', `Unknown SAE format '${format}'. Facet reads ${SAE_FORMATS.join(', ')}.`, { format });
  return loader;
}

/**
 * The folder (or `.pth` file) an SAE path designates: a config or weight file inside an SAE
 * folder stands for its folder.
 */
async function normalisePath(path: string): Promise<string> {
  const absolute = resolve(path);
  let info;
  try {
    info = await stat(absolute);
  } catch {
    throw new FacetError('SAE_FILE_INVALID', `${absolute} does not exist. Check the path.`, { file: absolute });
  }
  if (info.isFile() && !/\.(pth|pt)$/i.test(absolute)) return dirname(absolute);
  return absolute;
}

/** Detects the format of `path`; `SAE_FORMAT_UNKNOWN` lists what was looked for. */
export async function detectSaeFormat(path: string): Promise<{ format: SaeFormat; path: string }> {
  const target = await normalisePath(path);
  for (const format of Object.keys(SAE_LOADERS) as SaeFormat[]) {
    if (await SAE_LOADERS[format].detect(target)) return { format, path: target };
  }
  let found = '';
  try {
    found = (await stat(target)).isDirectory() ? ` It contains: ${(await readdir(target)).slice(0, 12).join(', ') || 'nothing'}.` : '';
  } catch {
    found = '';
  }
  throw new FacetError(
    'SAE_FORMAT_UNKNOWN',
    `${target} is not an SAE Facet recognises.${found} Expected cfg.json + sae_weights.safetensors (SAELens), cfg.json + sae.safetensors (sparsify), hyperparams.json + safetensors (Llama Scope), a .pth checkpoint (the paper), or facet_sae.json + sae.safetensors (Facet).`,
    { file: target, name: basename(target) },
  );
}

/** Detects (or takes) the format and loads; the result is validated for its architecture. */
export async function loadSae(path: string, options: SaeLoadOptions & { format?: SaeFormat } = {}): Promise<LoadedSae> {
  const detected = options.format !== undefined ? { format: options.format, path: await normalisePath(path) } : await detectSaeFormat(path);
  const loaded = await getSaeLoader(detected.format).load(detected.path, options);
  getSaeArchitecture(loaded.config.architecture).validate(loaded.config, loaded.weights.threshold !== null);
  return loaded;
}
