import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import { NpyReader, NpyWriter } from '../arrays/NpyFile.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import type { Store } from '../store/Store.ts';
import { readSafetensorsHeader, readSafetensorsRows } from './formats/SafetensorsFile.ts';
import type { SaeRecord } from './SaeRepository.ts';
import { SaeRegistry } from './SaeRegistry.ts';
import type { SaeProvider, SparseCodes } from './SaeSession.ts';

export const SAE_ENCODE_JOB = 'sae.encode';

/** `facet sae encode`: activations `[N, d_in]` (.npy or a .safetensors tensor) to codes. */
export interface EncodeFileRequest {
  sae: string;
  /** Absolute path of the activations. */
  input: string;
  /** The .safetensors tensor (default: `activations`, or the only one). */
  tensor?: string;
  /** Dense codes `[N, d_sae]` .npy (absolute path). */
  out?: string;
  /** Sparse codes, one JSON line per row (absolute path). */
  sparse?: string;
  denseRelu?: boolean;
  batch?: number;
  threads?: number;
  provider?: SaeProvider;
}

export interface EncodeFileSummary {
  sae: string;
  rows: number;
  dSae: number;
  meanActive: number;
  out: string | null;
  sparse: string | null;
  provider: string;
}

/** Writes one JSON line per row: {"indices":[…],"values":[…]} (positive codes, ascending index). */
export async function writeSparseRows(stream: WriteStream, codes: SparseCodes): Promise<void> {
  const lines: string[] = [];
  for (let r = 0; r < codes.rows; r++) {
    const start = codes.rowStart[r] as number;
    const end = codes.rowStart[r + 1] as number;
    lines.push(`{"indices":[${Array.from(codes.indices.subarray(start, end)).join(',')}],"values":[${Array.from(codes.values.subarray(start, end)).join(',')}]}\n`);
  }
  if (!stream.write(lines.join(''))) await once(stream, 'drain');
}

/** Row access to a `[rows, width]` activation file: `.npy`, or a tensor of a `.safetensors` file. */
interface ActivationRows {
  shape: number[];
  rows: number;
  readRows(start: number, count: number): Promise<Float32Array>;
  close(): Promise<void>;
}

async function openActivations(path: string, tensor: string | undefined): Promise<ActivationRows> {
  if (!path.endsWith('.safetensors')) {
    const reader = await NpyReader.open(path);
    return { shape: reader.header.shape, rows: reader.rows, readRows: (start, count) => reader.readRows(start, count), close: () => reader.close() };
  }
  const header = await readSafetensorsHeader(path);
  const names = [...header.tensors.keys()];
  const name = tensor ?? (header.tensors.has('activations') ? 'activations' : names.length === 1 ? names[0] : undefined);
  if (name === undefined || !header.tensors.has(name)) {
    throw new FacetError('INVALID_ARGUMENT', `${path}: say which tensor holds the activations with --tensor (it has ${names.join(', ') || 'none'}).`, { file: path });
  }
  const shape = header.tensors.get(name)?.shape ?? [];
  return { shape, rows: shape[0] ?? 0, readRows: (start, count) => readSafetensorsRows(header, name, start, count), close: async () => {} };
}

function requireShape(request: EncodeFileRequest, record: SaeRecord, shape: number[]): void {
  if (shape.length !== 2 || shape[1] !== record.dIn) {
    throw new FacetError('SAE_SHAPE_MISMATCH', `${request.input} has shape [${shape.join(', ')}] but SAE '${record.name}' reads rows of d_in=${record.dIn}: give a [N, ${record.dIn}] float array captured at ${record.layer === null ? 'its layer' : `l_out-${record.layer}`}.`, { file: request.input, shape, dIn: record.dIn });
  }
}

/** Checks the request before a job queues: the SAE exists, the input opens and has rows of the SAE's d_in, an output is named. */
export async function prepareEncodeFile(store: Store, home: string, request: EncodeFileRequest): Promise<EncodeFileRequest> {
  if (request.out === undefined && request.sparse === undefined) throw new FacetError('INVALID_ARGUMENT', 'Give --out codes.npy (dense), --sparse codes.jsonl, or both.');
  const record = new SaeRegistry(store, home).get(request.sae);
  const absolute: EncodeFileRequest = { ...request, input: resolve(request.input), ...(request.out !== undefined ? { out: resolve(request.out) } : {}), ...(request.sparse !== undefined ? { sparse: resolve(request.sparse) } : {}) };
  const reader = await openActivations(absolute.input, absolute.tensor);
  try {
    requireShape(absolute, record, reader.shape);
  } finally {
    await reader.close();
  }
  return absolute;
}

/** Encodes an activation file with an SAE, in blocks; progress in rows. */
export async function encodeActivationFile(store: Store, home: string, request: EncodeFileRequest, control: { signal: AbortSignal; onProgress?: (done: number, total: number) => void }): Promise<EncodeFileSummary> {
  const registry = new SaeRegistry(store, home);
  const record = registry.get(request.sae);
  const reader = await openActivations(request.input, request.tensor);
  let dense: NpyWriter | undefined;
  let sparse: WriteStream | undefined;
  try {
    requireShape(request, record, reader.shape);
    const session = await registry.openSession(record, {
      provider: request.provider ?? 'auto',
      batchSize: request.batch ?? 256,
      ...(request.threads !== undefined ? { threads: request.threads } : {}),
      activation: request.denseRelu === true ? 'dense-relu' : 'architecture',
    });
    try {
      if (request.out !== undefined) dense = await NpyWriter.create(request.out, [record.dSae]);
      if (request.sparse !== undefined) sparse = createWriteStream(request.sparse);
      const rows = reader.rows;
      const chunk = session.batchSize * 8;
      let active = 0;
      for (let start = 0; start < rows; start += chunk) {
        throwIfAborted(control.signal);
        const n = Math.min(chunk, rows - start);
        const x = await reader.readRows(start, n);
        if (sparse !== undefined || dense === undefined) {
          const codes = await session.encodeSparse(x, n, { signal: control.signal });
          active += codes.indices.length;
          if (sparse !== undefined) await writeSparseRows(sparse, codes);
          if (dense !== undefined) {
            const block = new Float32Array(n * record.dSae);
            for (let r = 0; r < n; r++) for (let e = codes.rowStart[r] as number; e < (codes.rowStart[r + 1] as number); e++) block[r * record.dSae + (codes.indices[e] as number)] = codes.values[e] as number;
            await dense.append(block);
          }
        } else {
          const block = await session.encode(x, n, { signal: control.signal });
          for (const v of block) if (v > 0) active += 1;
          await dense.append(block);
        }
        control.onProgress?.(start + n, rows);
      }
      return { sae: record.name, rows, dSae: record.dSae, meanActive: rows > 0 ? active / rows : 0, out: request.out ?? null, sparse: request.sparse ?? null, provider: session.provider };
    } finally {
      await session.dispose();
    }
  } finally {
    await reader.close();
    await dense?.close();
    if (sparse !== undefined) {
      sparse.end();
      await once(sparse, 'close');
    }
  }
}

/** `facet sae encode` as a job (progress in rows), followed by every shell of the workspace. */
export function createSaeEncodeJob(store: Store, home: string): JobDefinition<EncodeFileRequest, never, EncodeFileSummary> {
  return {
    kind: SAE_ENCODE_JOB,
    title: (request) => `Encode ${request.input} with SAE ${request.sae}`,
    run: (request, ctx) => encodeActivationFile(store, home, request, { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) }),
  };
}
