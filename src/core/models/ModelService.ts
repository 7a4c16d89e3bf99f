import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FacetError, isAbortError, throwIfAborted } from '../../shared/FacetError.ts';
import type { Store } from '../store/Store.ts';
import type { ModelRecord } from './ModelRecord.ts';
import { ModelRepository } from './ModelRepository.ts';
import { summarizeGguf } from './ModelMetadata.ts';
import { readGgufHeader } from '../gguf/GgufReader.ts';
import { validateModelGguf } from '../gguf/validateModelGguf.ts';
import { sha256File } from './sha256File.ts';
import { requireGgufFile } from '../gguf/requireGgufFile.ts';
import { pathKind } from '../workspace/pathKind.ts';

export interface ModelProgress {
  phase: 'download' | 'hash';
  done: number;
  total?: number;
}

export interface AddModelOptions {
  /** Registry name. Defaults to the file name without `.gguf`. */
  name?: string;
  signal?: AbortSignal;
  onProgress?: (progress: ModelProgress) => void;
}

export interface PullModelOptions extends AddModelOptions {
  /** Abort when no byte arrives for this long (ms). Defaults to 30 s. */
  stallTimeoutMs?: number;
  /** Base URL for `hf:` URIs. Defaults to node-llama-cpp's (`HF_ENDPOINT`, else huggingface.co). */
  huggingFaceEndpoint?: string;
}

export interface AddModelResult {
  model: ModelRecord;
  /** The same file (path and content) was already registered under this name: nothing changed. */
  alreadyRegistered: boolean;
}

/**
 * The model registry: GGUF files registered by name with their metadata and content hash.
 * Removing a model forgets it; the file stays where it is.
 */
export class ModelService {
  private readonly repository: ModelRepository;
  /** Where `pull` saves downloads. */
  readonly modelsDir: string;

  constructor(store: Store, options: { modelsDir?: string } = {}) {
    this.repository = new ModelRepository(store.db);
    this.modelsDir = options.modelsDir ?? join(store.path === ':memory:' ? process.cwd() : dirname(store.path), 'models');
  }

  /**
   * Registers a GGUF file. Not a GGUF, truncated, missing, a folder or special file, or a model
   * llama.cpp would abort on ({@link validateModelGguf}): a coded error and nothing registered.
   */
  async add(path: string, options: AddModelOptions = {}): Promise<AddModelResult> {
    return this.register(path, 'file', options);
  }

  /**
   * What {@link add} would refuse without hashing: not a usable GGUF file, a bad name, a name taken
   * by another file. For callers that queue the add as a job, so the user hears it at once.
   */
  async precheck(path: string, name?: string): Promise<void> {
    const absolute = resolve(path);
    await requireGgufFile(absolute);
    validateModelGguf(await readGgufHeader(absolute));
    const chosen = name ?? basename(absolute).replace(/\.gguf$/i, '');
    validateName(chosen);
    const existing = this.repository.findByName(chosen);
    if (existing !== undefined && existing.path !== absolute) {
      throw new FacetError('MODEL_NAME_TAKEN', `A model named '${chosen}' is already registered (${existing.path}). Choose another name with --name, or remove the old one: facet models remove ${chosen}`, { name: chosen, path: existing.path, param: 'name' });
    }
  }

  private async register(path: string, source: string, options: AddModelOptions): Promise<AddModelResult> {
    const absolute = resolve(path);
    await requireGgufFile(absolute);
    const info = await stat(absolute);
    const header = await readGgufHeader(absolute, options.signal === undefined ? {} : { signal: options.signal });
    validateModelGguf(header); // what llama.cpp would abort on is refused here, not at the first load
    const metadata = summarizeGguf(header);
    const name = options.name ?? basename(absolute).replace(/\.gguf$/i, '');
    validateName(name);
    const existing = this.repository.findByName(name);
    if (existing !== undefined && existing.path !== absolute) {
      throw new FacetError('MODEL_NAME_TAKEN', `A model named '${name}' is already registered (${existing.path}). Choose another name with --name, or remove the old one: facet models remove ${name}`, { name, path: existing.path });
    }
    const contentHash = await sha256File(absolute, {
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      onProgress: (done) => options.onProgress?.({ phase: 'hash', done, total: info.size }),
    });
    if (existing !== undefined) {
      if (existing.contentHash === contentHash) return { model: existing, alreadyRegistered: true };
      throw new FacetError('MODEL_NAME_TAKEN', `'${name}' is registered for ${absolute} with different contents (the file changed since). Remove it first: facet models remove ${name}`, { name, path: absolute });
    }
    throwIfAborted(options.signal);
    const model = this.repository.insert({
      name,
      path: absolute,
      contentHash,
      sizeBytes: info.size,
      architecture: metadata.architecture,
      blockCount: metadata.blockCount,
      embeddingLength: metadata.embeddingLength,
      headCount: metadata.headCount,
      headCountKv: metadata.headCountKv,
      contextLength: metadata.contextLength,
      vocabSize: metadata.vocabSize,
      fileType: metadata.fileType,
      quantization: metadata.quantization,
      tokenizerModel: metadata.tokenizerModel,
      tokenizerPre: metadata.tokenizerPre,
      chatTemplate: metadata.chatTemplate,
      source,
      addedAt: new Date().toISOString(),
    });
    return { model, alreadyRegistered: false };
  }

  list(): ModelRecord[] {
    return this.repository.list();
  }

  get(name: string): ModelRecord {
    const model = this.repository.findByName(name);
    if (model === undefined) throw notRegistered(name);
    return model;
  }

  /** Forgets a model (the file is kept). */
  remove(name: string): ModelRecord {
    const model = this.get(name);
    this.repository.deleteByName(name);
    return model;
  }

  /**
   * Downloads a model (`hf:<user>/<repo>:<quant>`, `hf:<user>/<repo>/<file>.gguf`, or an
   * http(s) URL) into {@link modelsDir} and registers it. Offline or unreachable: `DOWNLOAD_FAILED`
   * as soon as the connection fails, or after `stallTimeoutMs` without data. The download goes
   * into a private folder under `modelsDir` and is moved in only when complete, so a failed,
   * cut or cancelled download leaves no file behind.
   */
  async pull(uri: string, options: PullModelOptions = {}): Promise<AddModelResult> {
    if (!/^(hf:|https?:\/\/)/.test(uri)) {
      throw new FacetError('INVALID_ARGUMENT', `'${uri}' is not a model address. Use hf:<user>/<repo>:<quant>, hf:<user>/<repo>/<file>.gguf or an https:// URL.`, { uri });
    }
    throwIfAborted(options.signal);
    const stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
    const controller = new AbortController();
    const onOuterAbort = (): void => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    let stalled = false;
    let timer: NodeJS.Timeout | undefined;
    const armStallTimer = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        controller.abort();
      }, stallTimeoutMs);
    };
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(new Error(stalled ? `no data for ${stallTimeoutMs / 1000} s` : 'cancelled')), { once: true });
    });
    aborted.catch(() => undefined);
    let downloadedPath: string;
    const partialDir = join(this.modelsDir, `.partial-${randomUUID()}`);
    try {
      // The downloader retries refused connections for a long time: fail fast when the host
      // cannot be reached at all (offline, DNS failure, nothing listening).
      await preflight(uri, options.huggingFaceEndpoint, Math.min(stallTimeoutMs, 10_000), controller.signal);
      armStallTimer();
      const { createModelDownloader } = await import('node-llama-cpp');
      let lastDone = -1;
      const downloader = await Promise.race([
        createModelDownloader({
          modelUri: uri,
          dirPath: partialDir,
          showCliProgress: false,
          deleteTempFileOnCancel: true,
          ...(options.huggingFaceEndpoint !== undefined ? { endpoints: { huggingFace: options.huggingFaceEndpoint } } : {}),
          onProgress: ({ downloadedSize, totalSize }) => {
            if (downloadedSize !== lastDone) armStallTimer();
            lastDone = downloadedSize;
            options.onProgress?.({ phase: 'download', done: downloadedSize, total: totalSize });
          },
        }),
        aborted,
      ]);
      armStallTimer();
      const partialPath = await Promise.race([downloader.download({ signal: controller.signal }), aborted]);
      downloadedPath = join(this.modelsDir, basename(partialPath));
      // A complete file that is not a usable GGUF (an HTML error page, a cut body the server
      // called complete) is refused here, before it lands among the models.
      await requireGgufFile(partialPath);
      validateModelGguf(await readGgufHeader(partialPath, controller.signal === undefined ? {} : { signal: controller.signal }));
      await mkdir(this.modelsDir, { recursive: true });
      downloadedPath = await placeDownload(partialPath, downloadedPath);
    } catch (error) {
      await rm(partialDir, { recursive: true, force: true });
      if (error instanceof FacetError) throw error;
      if (options.signal?.aborted === true || (isAbortError(error) && !stalled)) throw new FacetError('CANCELLED', 'Cancelled.');
      const reason = stalled ? `no data arrived for ${stallTimeoutMs / 1000} s` : describe(error);
      throw new FacetError(
        'DOWNLOAD_FAILED',
        `Could not download ${uri}: ${reason}. Check the network connection and the address; on an offline machine copy the .gguf file over and register it with \`facet models add <file>\`.`,
        { uri, reason },
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onOuterAbort);
    }
    await rm(partialDir, { recursive: true, force: true });
    try {
      return await this.register(downloadedPath, uri, options);
    } catch (error) {
      // cancelled while hashing, or refused: the downloaded file goes too, unless it was already registered
      if (!this.repository.list().some((model) => model.path === downloadedPath)) await rm(downloadedPath, { force: true });
      throw error;
    }
  }
}

/**
 * Moves a finished download to `target`. A file already there with the same bytes is kept (the
 * download is dropped); one with other bytes is never overwritten: the download gets the next
 * free name (`name-2.gguf`, …).
 */
async function placeDownload(partialPath: string, target: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const candidate = attempt === 1 ? target : target.replace(/(\.gguf)?$/i, (extension) => `-${attempt}${extension}`);
    const existing = await stat(candidate).catch(() => undefined);
    if (existing === undefined) {
      await rename(partialPath, candidate);
      return candidate;
    }
    if (existing.isFile() && existing.size === (await stat(partialPath)).size && (await sha256File(candidate)) === (await sha256File(partialPath))) {
      await rm(partialPath, { force: true });
      return candidate;
    }
  }
}

/** Any HTTP answer from the host (even 404) passes; a network-level failure throws. */
async function preflight(uri: string, huggingFaceEndpoint: string | undefined, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const target = uri.startsWith('hf:') ? (huggingFaceEndpoint ?? process.env.HF_ENDPOINT ?? process.env.MODEL_ENDPOINT ?? 'https://huggingface.co/') : uri;
  let timedOut = false;
  const timeout = AbortSignal.timeout(timeoutMs);
  timeout.addEventListener('abort', () => (timedOut = true), { once: true });
  try {
    const response = await fetch(target, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.any([signal, timeout]) });
    await response.body?.cancel();
  } catch (error) {
    if (signal.aborted) throw error;
    throw new Error(timedOut ? `${new URL(target).host} did not answer within ${timeoutMs / 1000} s` : `cannot reach ${new URL(target).host}`, { cause: error });
  }
}

export interface ResolvedModel {
  /** Absolute path of an existing file. */
  path: string;
  /** The registry entry, when the argument was a registered name. */
  record: ModelRecord | null;
}

/**
 * A model argument: a registered name first, else a path to a file. A registered model whose file
 * is gone is `MODEL_FILE_NOT_FOUND`; neither a name nor a file is `MODEL_NOT_FOUND`.
 */
export async function resolveModel(store: Store, nameOrPath: string): Promise<ResolvedModel> {
  const record = new ModelRepository(store.db).findByName(nameOrPath);
  if (record !== undefined) {
    const info = await stat(record.path).catch(() => undefined);
    if (info === undefined || !info.isFile()) {
      throw new FacetError('MODEL_FILE_NOT_FOUND', `The registered model '${record.name}' points to ${record.path}, which no longer exists. Put the file back, or remove the entry (facet models remove ${record.name}) and add the file from its new place.`, { name: record.name, path: record.path });
    }
    return { path: record.path, record };
  }
  const absolute = resolve(nameOrPath);
  const kind = await pathKind(absolute);
  if (kind === 'missing') throw notRegistered(nameOrPath);
  await requireGgufFile(absolute); // a folder or a device/FIFO: its own coded error
  return { path: absolute, record: null };
}

function notRegistered(name: string): FacetError {
  return new FacetError('MODEL_NOT_FOUND', `No registered model is named '${name}' and there is no file at that path. \`facet models list\` shows the registered names; \`facet models add <file.gguf>\` registers one.`, { name });
}

function validateName(name: string): void {
  if (name.trim() === '' || name.length > 200 || /[/\\]/.test(name) || /^\.+$/.test(name) || /[\u0000-\u001f]/.test(name)) {
    throw new FacetError('INVALID_ARGUMENT', `'${name}' cannot be a model name: use 1 to 200 characters without slashes or control characters.`, { name });
  }
}

function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    parts.push(code !== undefined ? `${current.message} (${code})` : current.message);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.filter((p, i) => p !== '' && parts.indexOf(p) === i).join(': ') || String(error);
}
