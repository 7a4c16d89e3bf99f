import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { FacetError, throwIfAborted } from '../../../shared/FacetError.ts';
import { NpyReader, NpyWriter } from '../../../core/arrays/NpyFile.ts';
import { SaeRegistry } from '../../../core/sae/SaeRegistry.ts';
import type { SaeSession } from '../../../core/sae/SaeSession.ts';
import type { CliContext } from '../../CliContext.ts';
import { parsePositiveInteger, parseProvider } from './saeCliSupport.ts';

export const usage = 'facet sae decode --sae S --input codes.npy|codes.jsonl --out reconstruction.npy [--batch 256] [--threads N] [--provider auto|cpu|cuda]';

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

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, allowPositionals: false, options: { sae: { type: 'string' }, input: { type: 'string' }, out: { type: 'string' }, batch: { type: 'string' }, threads: { type: 'string' }, provider: { type: 'string' } } });
  if (values.sae === undefined || values.input === undefined || values.out === undefined) throw new FacetError('INVALID_ARGUMENT', `--sae, --input and --out are required.\nUsage: ${usage}`);
  const registry = new SaeRegistry(ctx.openStore(), ctx.home);
  const record = registry.get(values.sae);
  const sparseInput = values.input.endsWith('.jsonl');
  const reader = sparseInput ? undefined : await NpyReader.open(values.input);
  let session: SaeSession | undefined;
  const writer = await NpyWriter.create(values.out, [record.dIn]);
  try {
    if (reader !== undefined) {
      const shape = reader.header.shape;
      if (shape.length !== 2 || shape[1] !== record.dSae) throw new FacetError('SAE_SHAPE_MISMATCH', `${values.input} has shape [${shape.join(', ')}] but SAE '${record.name}' has d_sae=${record.dSae}: give [N, ${record.dSae}] codes.`, { file: values.input, shape });
    }
    session = await registry.openSession(record, {
      provider: parseProvider(values.provider),
      batchSize: parsePositiveInteger(values.batch, 'batch', 256),
      ...(values.threads !== undefined ? { threads: parsePositiveInteger(values.threads, 'threads', 1) } : {}),
    });
    const blockRows = session.batchSize * 4;
    ctx.progress.start(`Decoding with ${record.name}`, reader?.rows);
    let done = 0;
    for await (const block of reader !== undefined ? denseBlocks(reader, blockRows) : sparseBlocks(values.input, record.dSae, blockRows)) {
      throwIfAborted(ctx.signal);
      await writer.append(await session.decode(block.data, block.rows, { signal: ctx.signal }));
      done += block.rows;
      ctx.progress.update(done, reader?.rows);
    }
    ctx.progress.finish();
    if (record.config.normalisation.kind === 'row-norm' || record.config.normalisation.kind === 'layer-norm') {
      ctx.err(`note: SAE '${record.name}' normalises each input row (${record.config.normalisation.kind}); reconstructions are in those normalised units.`);
    }
    if (ctx.json) ctx.printJson({ sae: record.name, rows: done, dIn: record.dIn, out: values.out });
    else ctx.out(`Decoded ${done} rows with '${record.name}' → ${values.out} [${done}, ${record.dIn}].`);
  } finally {
    await session?.dispose();
    await reader?.close();
    await writer.close();
  }
  return 0;
}
