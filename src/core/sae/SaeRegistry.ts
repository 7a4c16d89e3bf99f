import { constants } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { Store } from '../store/Store.ts';
import { getSaeLoader, loadSae } from './loaders/saeLoaders.ts';
import type { LoadedSae } from './loaders/SaeLoader.ts';
import { MAX_SAE_LAYER, type SaeConfig, type SaeFormat } from './SaeConfig.ts';
import { saeIdentity } from './saeIdentity.ts';
import { SaeRepository, type SaeRecord } from './SaeRepository.ts';
import { SaeSession, type SaeSessionOptions } from './SaeSession.ts';

export interface ImportSaeOptions {
  /** Registry name. Defaults to the file or folder name. */
  name?: string;
  /** llama.cpp 0-based `l_out` layer, overriding what the SAE's files say. */
  layer?: number;
  /** Model family, overriding what the SAE's files say. */
  modelFamily?: string;
  /** Skip detection. */
  format?: SaeFormat;
  signal?: AbortSignal;
  onProgress?: (step: string) => void;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The workspace's SAEs: import (validate, copy the files into `saes/<hash>/`, record), list,
 * look up, remove, and open encode sessions. An import that fails at any step leaves neither a
 * row nor a folder behind.
 */
export class SaeRegistry {
  readonly home: string;
  private readonly repository: SaeRepository;

  constructor(store: Store, home: string) {
    this.home = home;
    this.repository = new SaeRepository(store.db);
  }

  list(): SaeRecord[] {
    return this.repository.list();
  }

  /** By name, numeric id, or a unique hash prefix (≥ 8 hex digits); `SAE_NOT_FOUND` otherwise. */
  get(reference: string): SaeRecord {
    const byName = this.repository.byName(reference);
    if (byName !== undefined) return byName;
    if (/^\d+$/.test(reference)) {
      const byId = this.repository.byId(Number(reference));
      if (byId !== undefined) return byId;
    }
    if (/^[0-9a-f]{8,64}$/.test(reference)) {
      const matches = this.repository.byHashPrefix(reference);
      if (matches.length === 1) return matches[0] as SaeRecord;
    }
    const names = this.repository.list().map((record) => record.name);
    throw new FacetError('SAE_NOT_FOUND', `No SAE '${reference}' in this workspace (${names.length === 0 ? 'none registered; run facet sae import <path>' : `registered: ${names.join(', ')}`}).`, { reference });
  }

  /** Absolute folder of a registered SAE's files. */
  storagePath(record: SaeRecord): string {
    return join(this.home, record.storageDir);
  }

  /** Validates, copies and records an SAE from `path` (folder, config file, or `.pth`). */
  async importSae(path: string, options: ImportSaeOptions = {}): Promise<SaeRecord> {
    options.onProgress?.('reading and checking the weights');
    const loaded = await loadSae(path, options.format !== undefined ? { format: options.format } : {});
    throwIfAborted(options.signal);
    const defaultName = basename(loaded.config.source.path).replace(/\.(pth|pt)$/i, '');
    return this.register(loaded, { ...options, name: options.name ?? defaultName });
  }

  /** Records an SAE already loaded (for example one just trained and written with `writeFacetSae`). */
  async register(loaded: LoadedSae, options: ImportSaeOptions & { name: string }): Promise<SaeRecord> {
    const name = options.name;
    if (!NAME_PATTERN.test(name)) {
      throw new FacetError('INVALID_ARGUMENT', `SAE name '${name}' is not allowed: use letters, digits, '.', '_' or '-' (up to 128, starting with a letter or digit). Pass --name.`, { name });
    }
    if (this.repository.byName(name) !== undefined) throw new FacetError('INVALID_ARGUMENT', `An SAE named '${name}' is already registered. Pass another --name or remove it first.`, { name });
    if (options.layer !== undefined && (!Number.isInteger(options.layer) || options.layer < 0 || options.layer > MAX_SAE_LAYER)) {
      throw new FacetError('INVALID_ARGUMENT', `--layer must be a llama.cpp layer index from 0 to ${MAX_SAE_LAYER} (got ${options.layer}).`, { layer: options.layer });
    }
    // Identity = weights + the configuration that changes encoding (see saeIdentity), so the same weights with another K or threshold register as another SAE.
    const weightsHash = loaded.config.hash;
    const hash = saeIdentity(loaded.config, weightsHash);
    const existing = this.repository.byHash(hash);
    if (existing !== undefined) {
      throw new FacetError('INVALID_ARGUMENT', `This SAE (the same weights with the same encoding settings) is already registered as '${existing.name}' (id ${existing.hash.slice(0, 12)}…). Use that name, or remove it first.`, { name: existing.name, hash: existing.hash });
    }
    const sourceIsFile = getSaeLoader(loaded.config.source.format).kind === 'file';
    const sourceFolder = sourceIsFile ? dirname(dirname(loaded.config.source.path)) : loaded.config.source.path;
    // A single-file SAE keeps its parent folder's name in storage: Qwen-Scope's K lives in it.
    const files = sourceIsFile ? [join(basename(dirname(loaded.config.source.path)), basename(loaded.config.source.path))] : loaded.config.source.files;
    const threshold = loaded.weights.threshold;
    const config: SaeConfig = {
      ...loaded.config,
      hash,
      weightsHash,
      layer: options.layer ?? loaded.config.layer,
      modelFamily: options.modelFamily ?? loaded.config.modelFamily,
      source: {
        ...loaded.config.source,
        files,
        ...(threshold !== null && threshold.length > 0 ? { thresholdRange: range(threshold) } : {}),
      },
    };
    if (options.layer !== undefined && options.layer !== loaded.config.layer) config.source = { ...config.source, notes: [...config.source.notes, `Layer set to ${options.layer} at import.`] };
    const storageDir = join('saes', config.hash);
    const finalDir = join(this.home, storageDir);
    const partialDir = `${finalDir}.partial-${process.pid}`;
    options.onProgress?.('copying the files into the workspace');
    let sizeBytes = 0;
    try {
      await rm(partialDir, { recursive: true, force: true });
      for (const file of files) {
        throwIfAborted(options.signal);
        const target = join(partialDir, file);
        await mkdir(dirname(target), { recursive: true });
        // Copy-on-write clone where the file system offers it, a plain copy otherwise.
        await copyFile(join(sourceFolder, file), target, constants.COPYFILE_FICLONE);
        sizeBytes += (await stat(target)).size;
      }
      await rm(finalDir, { recursive: true, force: true });
      await rename(partialDir, finalDir);
    } catch (error) {
      await rm(partialDir, { recursive: true, force: true });
      throw error;
    }
    try {
      return this.repository.insert({
        name,
        hash: config.hash,
        format: config.source.format,
        architecture: config.architecture,
        dIn: config.dIn,
        dSae: config.dSae,
        k: config.k,
        layer: config.layer,
        modelFamily: config.modelFamily,
        config,
        storageDir,
        sizeBytes,
        createdAt: new Date().toISOString(),
      });
    } catch (error) {
      await rm(finalDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Deletes the row and the SAE's files. */
  async remove(reference: string): Promise<SaeRecord> {
    const record = this.get(reference);
    this.repository.delete(record.id);
    await rm(this.storagePath(record), { recursive: true, force: true });
    return record;
  }

  /**
   * Reads a registered SAE's weights from its workspace copy; the config is the registered one
   * (with any --layer given at import). Refuses files changed since import.
   */
  async load(reference: string | SaeRecord): Promise<LoadedSae> {
    const record = typeof reference === 'string' ? this.get(reference) : reference;
    const folder = this.storagePath(record);
    const loader = getSaeLoader(record.format);
    // Single-file SAEs are stored as <parent folder>/<file>; SAEs registered before that, as <file>.
    const target = loader.kind === 'file' ? join(folder, record.config.source.files[0] ?? basename(record.config.source.path)) : folder;
    const loaded = await loader.load(resolve(target));
    if (loaded.config.hash !== (record.config.weightsHash ?? record.hash)) {
      throw new FacetError('SAE_FILE_INVALID', `The stored files of SAE '${record.name}' in ${folder} changed since import (sha256 differs). Remove it and import it again.`, { file: folder, name: record.name });
    }
    return { ...loaded, config: record.config };
  }

  /** Loads a registered SAE and opens an encode/decode session on it. */
  async openSession(reference: string | SaeRecord, options: SaeSessionOptions = {}): Promise<SaeSession> {
    const { config, weights } = await this.load(reference);
    return SaeSession.create(config, weights, options);
  }
}

/** Smallest and largest value (arrays too long to spread into Math.min). */
function range(values: Float32Array): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return [low, high];
}
