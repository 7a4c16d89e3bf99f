import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import { NpyReader, NpyWriter } from '../arrays/NpyFile.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import type { Store } from '../store/Store.ts';
import { SaeRegistry } from './SaeRegistry.ts';
import type { SaeProvider, SaeSession } from './SaeSession.ts';
import type { SaeRecord } from './SaeRepository.ts';

export const SAE_DECODE_JOB = 'sae.decode';

/** `facet sae decode`: codes (.npy dense `[N, d_sae]` or .jsonl sparse) to reconstructions `[N, d_in]`. */
export interface DecodeFileRequest {
  sae: string;
  /** Absolute path of the codes. */
  input: string;
  /** Absolute path of the reconstruction .npy. */
  out: string;
  batch?: number;
  threads?: number;
  provider?: SaeProvider;
}

export interface DecodeFileSummary {
  sae: string;
  rows: number;
  dIn: number;
  out: string;
  /** Set when the SAE normalises each row: the reconstructions are in those units. */
  note: string | null;
}

/** Yields dense `[n, dSae]` blocks from a sparse JSON-lines file ({"indices":[…],"values":[…]} per row). */
async function* sparseBlocks(path: string, dSae: number, blockRows: number): AsyncGenerator<{ data: Float32Array; rows: number }> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let block = new Float32Array(blockRows * dSae);
  let rows = 0;
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber += 1;
    if (line.trim() === '') continue;
    let row: { indices?: unknown; values?: unknown };
    try {
      row = JSON.parse(line) as typeof row;
    } catch {
      throw new FacetError('INVALID_ARGUMENT', `${path}:${lineNumber} is not JSON. Each line must be {"indices":[…],"values":[…]}.`, { file: path, line: lineNumber });
    }
    if (!Array.isArray(row.indices) || !Array.isArray(row.values) || row.indices.length !== row.values.length) {
      throw new FacetError('INVALID_ARGUMENT', `${path}:${lineNumber}: needs "indices" and "values" arrays of equal length.`, { file: path, line: lineNumber });
    }
    for (let e = 0; e < row.indices.length; e++) {
      const index = row.indices[e] as number;
      if (!Number.isInteger(index) || index < 0 || index >= dSae) throw new FacetError('SAE_SHAPE_MISMATCH', `${path}:${lineNumber}: feature index ${String(index)} is outside 0..${dSae - 1} for this SAE.`, { file: path, line: lineNumber });
      block[rows * dSae + index] = Number(row.values[e]);
    }
    rows += 1;
    if (rows === blockRows) {
      yield { data: block, rows };
      block = new Float32Array(blockRows * dSae);
      rows = 0;
    }
  }
  if (rows > 0) yield { data: block.subarray(0, rows * dSae), rows };
}

async function* denseBlocks(reader: NpyReader, blockRows: number): AsyncGenerator<{ data: Float32Array; rows: number }> {
  for (let start = 0; start < reader.rows; start += blockRows) {
    const rows = Math.min(blockRows, reader.rows - start);
    yield { data: await reader.readRows(start, rows), rows };
  }
}

function requireShape(input: string, record: SaeRecord, shape: number[]): void {
  if (shape.length !== 2 || shape[1] !== record.dSae) throw new FacetError('SAE_SHAPE_MISMATCH', `${input} has shape [${shape.join(', ')}] but SAE '${record.name}' has d_sae=${record.dSae}: give [N, ${record.dSae}] codes.`, { file: input, shape });
}

/** Checks the request before a job queues: the SAE exists and dense codes have its d_sae. */
export async function prepareDecodeFile(store: Store, home: string, request: DecodeFileRequest): Promise<DecodeFileRequest> {
  const record = new SaeRegistry(store, home).get(request.sae);
  const absolute = { ...request, input: resolve(request.input), out: resolve(request.out) };
  if (!absolute.input.endsWith('.jsonl')) {
    const reader = await NpyReader.open(absolute.input);
    try {
      requireShape(absolute.input, record, reader.header.shape);
    } finally {
      await reader.close();
    }
  }
  return absolute;
}

/** Decodes a codes file with an SAE, in blocks; progress in rows (of a dense input). */
export async function decodeCodesFile(store: Store, home: string, request: DecodeFileRequest, control: { signal: AbortSignal; onProgress?: (done: number, total: number | null) => void }): Promise<DecodeFileSummary> {
  const registry = new SaeRegistry(store, home);
  const record = registry.get(request.sae);
  const sparseInput = request.input.endsWith('.jsonl');
  const reader = sparseInput ? undefined : await NpyReader.open(request.input);
  let session: SaeSession | undefined;
  const writer = await NpyWriter.create(request.out, [record.dIn]);
  try {
    if (reader !== undefined) requireShape(request.input, record, reader.header.shape);
    session = await registry.openSession(record, {
      provider: request.provider ?? 'auto',
      batchSize: request.batch ?? 256,
      ...(request.threads !== undefined ? { threads: request.threads } : {}),
    });
    const blockRows = session.batchSize * 4;
    let done = 0;
    for await (const block of reader !== undefined ? denseBlocks(reader, blockRows) : sparseBlocks(request.input, record.dSae, blockRows)) {
      throwIfAborted(control.signal);
      await writer.append(await session.decode(block.data, block.rows, { signal: control.signal }));
      done += block.rows;
      control.onProgress?.(done, reader?.rows ?? null);
    }
    const kind = record.config.normalisation.kind;
    const note = kind === 'row-norm' || kind === 'layer-norm' ? `SAE '${record.name}' normalises each input row (${kind}); reconstructions are in those normalised units.` : null;
    return { sae: record.name, rows: done, dIn: record.dIn, out: request.out, note };
  } finally {
    await session?.dispose();
    await reader?.close();
    await writer.close();
  }
}

/** `facet sae decode` as a job (progress in rows), followed by every shell of the workspace. */
export function createSaeDecodeJob(store: Store, home: string): JobDefinition<DecodeFileRequest, never, DecodeFileSummary> {
  return {
    kind: SAE_DECODE_JOB,
    title: (request) => `Decode ${request.input} with SAE ${request.sae}`,
    run: (request, ctx) => decodeCodesFile(store, home, request, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) }),
  };
}
