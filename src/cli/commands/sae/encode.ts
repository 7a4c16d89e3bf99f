import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { FacetError, throwIfAborted } from '../../../shared/FacetError.ts';
import { NpyReader, NpyWriter } from '../../../core/arrays/NpyFile.ts';
import { readSafetensorsHeader, readSafetensorsRows } from '../../../core/sae/formats/SafetensorsFile.ts';
import { SaeRegistry } from '../../../core/sae/SaeRegistry.ts';
import type { SparseCodes } from '../../../core/sae/SaeSession.ts';
import type { CliContext } from '../../CliContext.ts';
import { parsePositiveInteger, parseProvider } from './saeCliSupport.ts';

export const usage = 'facet sae encode --sae S --input acts.npy|acts.safetensors [--tensor activations] [--out codes.npy] [--sparse codes.jsonl] [--dense-relu] [--batch 256] [--threads N] [--provider auto|cpu|cuda]';

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

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: { sae: { type: 'string' }, input: { type: 'string' }, tensor: { type: 'string' }, out: { type: 'string' }, sparse: { type: 'string' }, 'dense-relu': { type: 'boolean', default: false }, batch: { type: 'string' }, threads: { type: 'string' }, provider: { type: 'string' } },
  });
  if (values.sae === undefined || values.input === undefined) throw new FacetError('INVALID_ARGUMENT', `--sae and --input are required.\nUsage: ${usage}`);
  if (values.out === undefined && values.sparse === undefined) throw new FacetError('INVALID_ARGUMENT', `Give --out codes.npy (dense), --sparse codes.jsonl, or both.\nUsage: ${usage}`);
  const registry = new SaeRegistry(ctx.openStore(), ctx.home);
  const record = registry.get(values.sae);
  const reader = await openActivations(values.input, values.tensor);
  let dense: NpyWriter | undefined;
  let sparse: WriteStream | undefined;
  try {
    const shape = reader.shape;
    if (shape.length !== 2 || shape[1] !== record.dIn) {
      throw new FacetError('SAE_SHAPE_MISMATCH', `${values.input} has shape [${shape.join(', ')}] but SAE '${record.name}' reads rows of d_in=${record.dIn}: give a [N, ${record.dIn}] float array captured at ${record.layer === null ? 'its layer' : `l_out-${record.layer}`}.`, { file: values.input, shape, dIn: record.dIn });
    }
    const session = await registry.openSession(record, {
      provider: parseProvider(values.provider),
      batchSize: parsePositiveInteger(values.batch, 'batch', 256),
      ...(values.threads !== undefined ? { threads: parsePositiveInteger(values.threads, 'threads', 1) } : {}),
      activation: values['dense-relu'] ? 'dense-relu' : 'architecture',
    });
    try {
      if (values.out !== undefined) dense = await NpyWriter.create(values.out, [record.dSae]);
      if (values.sparse !== undefined) sparse = createWriteStream(values.sparse);
      const rows = reader.rows;
      const chunk = session.batchSize * 8;
      let active = 0;
      ctx.progress.start(`Encoding with ${record.name}`, rows);
      for (let start = 0; start < rows; start += chunk) {
        throwIfAborted(ctx.signal);
        const n = Math.min(chunk, rows - start);
        const x = await reader.readRows(start, n);
        if (sparse !== undefined || dense === undefined) {
          const codes = await session.encodeSparse(x, n, { signal: ctx.signal });
          active += codes.indices.length;
          if (sparse !== undefined) await writeSparseRows(sparse, codes);
          if (dense !== undefined) {
            const block = new Float32Array(n * record.dSae);
            for (let r = 0; r < n; r++) for (let e = codes.rowStart[r] as number; e < (codes.rowStart[r + 1] as number); e++) block[r * record.dSae + (codes.indices[e] as number)] = codes.values[e] as number;
            await dense.append(block);
          }
        } else {
          const block = await session.encode(x, n, { signal: ctx.signal });
          for (const v of block) if (v > 0) active += 1;
          await dense.append(block);
        }
        ctx.progress.update(start + n, rows);
      }
      ctx.progress.finish();
      const summary = { sae: record.name, rows, dSae: record.dSae, meanActive: rows > 0 ? active / rows : 0, out: values.out ?? null, sparse: values.sparse ?? null, provider: session.provider };
      if (ctx.json) ctx.printJson(summary);
      else ctx.out(`Encoded ${rows} rows with '${record.name}' on ${session.provider}: ${summary.meanActive.toFixed(2)} active features per row${values.out !== undefined ? `, dense → ${values.out}` : ''}${values.sparse !== undefined ? `, sparse → ${values.sparse}` : ''}.`);
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
  return 0;
}
