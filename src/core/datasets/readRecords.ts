import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { Transform, type Readable } from 'node:stream';
import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import { CsvParser } from './CsvParser.ts';
import { JsonArraySplitter } from './JsonArraySplitter.ts';

export type FileLayout = 'jsonl' | 'json-array' | 'csv' | 'text-lines';

/** One record of a source file: its parsed value, or why it could not be parsed. */
export type SourceRecord = { line: number; value: unknown; error?: undefined } | { line: number; value?: undefined; error: string };

export interface ReadRecordsOptions {
  signal?: AbortSignal;
  /** Called with bytes read from disk (compressed bytes for .gz) for progress. */
  onBytes?: (bytesRead: number) => void;
}

/** The layout from the file name (`.gz` stripped), refined by the first character for `.json`. */
export async function detectLayout(path: string): Promise<FileLayout> {
  const name = path.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.txt')) return 'text-lines';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  const first = await firstSignificantCharacter(path);
  return first === '[' ? 'json-array' : 'jsonl';
}

export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    throw new FacetError('DATASET_FILE_NOT_FOUND', `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}. Check the path.`, { path });
  }
}

function openText(path: string, onBytes?: (bytes: number) => void): Readable {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (onBytes !== undefined) {
    let total = 0;
    raw.on('data', (chunk) => {
      total += (chunk as Buffer).length;
      onBytes(total);
    });
  }
  const decoded = path.toLowerCase().endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (error) => decoded.destroy(error));
  decoded.setEncoding('utf8');
  // A UTF-8 byte-order mark (as spreadsheet programs write) is not part of the first record.
  let first = true;
  const text = decoded.pipe(
    new Transform({
      readableObjectMode: true,
      writableObjectMode: true,
      transform(chunk: string, _encoding, done) {
        if (first) {
          first = false;
          done(null, chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk);
        } else done(null, chunk);
      },
    }),
  );
  decoded.on('error', (error: Error) => text.destroy(error));
  return text;
}

async function firstSignificantCharacter(path: string): Promise<string | undefined> {
  const stream = openText(path);
  try {
    for await (const chunk of stream) {
      const match = /[^\s]/.exec(chunk as string);
      if (match) return match[0];
    }
    return undefined;
  } catch (error) {
    throw error instanceof FacetError ? error : gzipError(path, error);
  } finally {
    stream.destroy();
  }
}

function gzipError(path: string, error: unknown): FacetError {
  return new FacetError('DATASET_LINE_INVALID', `${path} could not be decompressed (${(error as Error).message}); the .gz file may be truncated or not gzip. Re-download or re-compress it.`, { path });
}

/**
 * Streams the records of a dataset file, one parsed value at a time, with the 1-based line
 * where each starts. JSONL, JSON arrays, CSV with a header row, plain text lines; `.gz` is
 * decompressed on the fly. Memory stays bounded by the largest single record.
 */
export async function* readRecords(path: string, layout: FileLayout, options: ReadRecordsOptions = {}): AsyncGenerator<SourceRecord> {
  await fileSize(path);
  const stream = openText(path, options.onBytes);
  try {
    if (layout === 'jsonl' || layout === 'text-lines') {
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      let line = 0;
      try {
        for await (const text of lines) {
          line++;
          if ((line & 1023) === 0) throwIfAborted(options.signal);
          if (text.trim() === '') continue;
          if (layout === 'text-lines') {
            yield { line, value: { text } };
            continue;
          }
          try {
            yield { line, value: JSON.parse(text) };
          } catch (error) {
            yield { line, error: `not valid JSON (${(error as Error).message})` };
          }
        }
      } catch (error) {
        if (error instanceof FacetError) throw error;
        throw gzipError(path, error);
      }
      return;
    }
    if (layout === 'json-array') {
      const splitter = new JsonArraySplitter(path);
      try {
        for await (const chunk of stream) {
          throwIfAborted(options.signal);
          let elements;
          try {
            elements = splitter.push(chunk as string);
          } catch (error) {
            throw new FacetError('DATASET_LINE_INVALID', `${path} ${(error as Error).message}. Fix the JSON array or convert the file to JSON Lines.`, { path });
          }
          for (const element of elements) {
            try {
              yield { line: element.line, value: JSON.parse(element.text) };
            } catch (error) {
              yield { line: element.line, error: `not valid JSON (${(error as Error).message})` };
            }
          }
        }
      } catch (error) {
        if (error instanceof FacetError) throw error;
        throw gzipError(path, error);
      }
      try {
        splitter.end();
      } catch (error) {
        throw new FacetError('DATASET_LINE_INVALID', `${(error as Error).message}.`, { path });
      }
      return;
    }
    const parser = new CsvParser();
    let header: string[] | undefined;
    const toRecords = function* (rows: { line: number; fields: string[] }[]): Generator<SourceRecord> {
      for (const row of rows) {
        if (header === undefined) {
          header = row.fields.map((name) => name.trim());
          continue;
        }
        if (row.fields.length === 1 && row.fields[0] === '') continue;
        if (row.fields.length !== header.length) {
          yield { line: row.line, error: `has ${row.fields.length} fields but the header has ${header.length}` };
          continue;
        }
        const value: Record<string, string> = {};
        header.forEach((name, i) => {
          value[name] = row.fields[i] as string;
        });
        yield { line: row.line, value };
      }
    };
    try {
      for await (const chunk of stream) {
        throwIfAborted(options.signal);
        yield* toRecords(parser.push(chunk as string));
      }
    } catch (error) {
      if (error instanceof FacetError) throw error;
      throw gzipError(path, error);
    }
    try {
      yield* toRecords(parser.end());
    } catch (error) {
      throw new FacetError('DATASET_LINE_INVALID', `${path} ${(error as Error).message}.`, { path });
    }
  } finally {
    stream.destroy();
  }
}
