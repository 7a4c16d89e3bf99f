import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { Transform, type Readable } from 'node:stream';
import { FacetError, throwIfAborted, type FacetErrorCode } from '../../shared/FacetError.ts';
import { pathKind, specialFileDescription } from '../workspace/pathKind.ts';
import { CsvParser } from './CsvParser.ts';
import { datasetImportLimits, jsonNestsDeeperThan, type DatasetImportLimits } from './datasetImportLimits.ts';
import { JsonArraySplitter } from './JsonArraySplitter.ts';

export type FileLayout = 'jsonl' | 'json-array' | 'csv' | 'text-lines';

/**
 * One record of a source file: its parsed value, or why it could not be parsed (`code` when the
 * reason has its own error code, e.g. a record over the size or nesting cap).
 */
export type SourceRecord = { line: number; value: unknown; error?: undefined } | { line: number; value?: undefined; error: string; code?: FacetErrorCode };

export interface ReadRecordsOptions {
  signal?: AbortSignal;
  /** Called with bytes read from disk (compressed bytes for .gz) for progress. */
  onBytes?: (bytesRead: number) => void;
  /** Called when bytes that are not UTF-8 (stored as U+FFFD) were read: the count so far and the line of the record that holds them. */
  onInvalidUtf8?: (sequences: number, line: number) => void;
  /** Caps; {@link datasetImportLimits} by default. */
  limits?: Partial<DatasetImportLimits>;
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

/**
 * The size of a dataset file, refusing anything but a regular file up front: missing is
 * `DATASET_FILE_NOT_FOUND`, a folder `DATASET_PATH_IS_DIRECTORY`, a device, FIFO or socket
 * (`/dev/zero` never ends, a FIFO blocks) `DATASET_FILE_SPECIAL`.
 */
export async function fileSize(path: string): Promise<number> {
  const kind = await pathKind(path);
  if (kind === 'directory') {
    throw new FacetError('DATASET_PATH_IS_DIRECTORY', `${path} is a folder, not a dataset file. Import the .jsonl, .json, .csv or .txt file (optionally .gz) inside it, one at a time.`, { path });
  }
  if (kind === 'special') {
    throw new FacetError('DATASET_FILE_SPECIAL', `${path} is ${await specialFileDescription(path)}, not a regular file, so it cannot be imported. Save the data to a file first and import that.`, { path });
  }
  try {
    return (await stat(path)).size;
  } catch (error) {
    throw new FacetError('DATASET_FILE_NOT_FOUND', `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}. Check the path.`, { path });
  }
}

/** Bytes looked at to tell a binary file (an image, an archive, a model) from text. */
const binarySniffBytes = 1024;

/**
 * Refuses a file that is not text before any row is read: NUL bytes, or more than a tenth of its
 * first KiB not UTF-8 (`DATASET_NOT_TEXT`), so a photo is not reported as "line 1 is not valid JSON".
 * `.gz` files are decompressed later and not looked at here.
 */
export async function requireTextFile(path: string): Promise<void> {
  if (path.toLowerCase().endsWith('.gz')) return;
  let head: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(binarySniffBytes);
      const { bytesRead } = await file.read(buffer, 0, binarySniffBytes, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch {
    return; // unreadable files get their own error from the reader
  }
  // NUL bytes, or mostly bytes that are not UTF-8: a text file in another encoding (a Latin-1 'é'
  // here and there) is still text, imported with a warning naming its lines
  let binary = head.includes(0);
  if (!binary && head.length > 0) {
    // stream: true keeps a character cut at the end of the KiB from counting as invalid
    const text = new TextDecoder('utf-8').decode(head, { stream: true });
    const replaced = text.length - text.replaceAll('\ufffd', '').length;
    binary = replaced / text.length > 0.1;
  }
  if (binary) {
    const gzip = head[0] === 0x1f && head[1] === 0x8b;
    throw new FacetError(
      'DATASET_NOT_TEXT',
      gzip
        ? `${path} is gzip-compressed but its name does not end in .gz: rename it to end in .gz, or choose the uncompressed JSONL, JSON, CSV or text file.`
        : `${path} is not a text dataset (it looks binary): choose a JSONL, JSON, CSV or text file.`,
      { path, param: 'path' },
    );
  }
}

/**
 * A JSON parser's complaint about `text` (one record starting at line `line`) in the file's terms:
 * "at character 2 of line 7" instead of the parser's "at position 1 (line 1 column 2)", which
 * counts within the record, and without the parser's echo of the text.
 */
export function jsonProblem(error: unknown, text: string, line: number): string {
  let message = error instanceof Error ? error.message : String(error);
  message = message.replace(/, ".*" is not valid JSON$/s, '');
  message = message.replace(/ in JSON at position (\d+)(?: \(line \d+ column \d+\))?/, (_, position: string) => {
    const before = text.slice(0, Number(position));
    const newlines = before.split('\n').length - 1;
    const column = Number(position) - (before.lastIndexOf('\n') + 1) + 1;
    return ` at character ${column} of line ${line + newlines}`;
  });
  return `not valid JSON (${message})`;
}

interface OpenTextOptions {
  onBytes?: ((bytes: number) => void) | undefined;
  onInvalidUtf8?: ((sequences: number) => void) | undefined;
  limits: DatasetImportLimits;
  compressedSize: number;
}

function openText(path: string, options: OpenTextOptions): Readable {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (options.onBytes !== undefined) {
    let total = 0;
    const onBytes = options.onBytes;
    raw.on('data', (chunk) => {
      total += (chunk as Buffer).length;
      onBytes(total);
    });
  }
  let bytes: Readable = raw;
  if (path.toLowerCase().endsWith('.gz')) {
    const gunzip = createGunzip();
    raw.on('error', (error) => gunzip.destroy(error));
    // A gzip bomb (1 MB of gzip holding 1 GiB of newlines) is refused once it outgrows the ratio.
    const allowed = Math.max(options.limits.expansionFloorBytes, options.limits.maxExpansionRatio * options.compressedSize);
    let expanded = 0;
    const guard = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        expanded += chunk.length;
        if (expanded > allowed) {
          done(
            new FacetError(
              'DATASET_EXPANSION_TOO_LARGE',
              `${path} expands to more than ${allowed} bytes (${options.limits.maxExpansionRatio}× its ${options.compressedSize} compressed bytes), so it was refused as a possible gzip bomb. If the data is real, decompress it yourself and import the plain file, or raise FACET_MAX_GZIP_RATIO.`,
              { path, compressedBytes: options.compressedSize, limitBytes: allowed, ratio: options.limits.maxExpansionRatio },
            ),
          );
        } else done(null, chunk);
      },
    });
    gunzip.on('error', (error) => guard.destroy(error));
    bytes = raw.pipe(gunzip).pipe(guard);
  } else {
    raw.on('error', (error) => text.destroy(error));
  }
  // UTF-8 decoding; bytes that are not UTF-8 become U+FFFD and are counted (a U+FFFD that was
  // really in the file, as the bytes EF BF BD, is not). A byte-order mark is dropped.
  const decoder = new StringDecoder('utf8');
  let first = true;
  let invalid = 0;
  const countReplacements = (decoded: string, chunk: Buffer | undefined): void => {
    if (decoded.indexOf('\ufffd') < 0) return;
    let produced = 0;
    for (let i = decoded.indexOf('\ufffd'); i >= 0; i = decoded.indexOf('\ufffd', i + 1)) produced++;
    let literal = 0;
    if (chunk !== undefined) for (let i = chunk.indexOf(replacementBytes); i >= 0; i = chunk.indexOf(replacementBytes, i + 3)) literal++;
    if (produced > literal) {
      invalid += produced - literal;
      options.onInvalidUtf8?.(invalid);
    }
  };
  const text: Readable = bytes.pipe(
    new Transform({
      readableObjectMode: true,
      transform(chunk: Buffer, _encoding, done) {
        let decoded = decoder.write(chunk);
        countReplacements(decoded, chunk);
        if (first && decoded !== '') {
          first = false;
          if (decoded.charCodeAt(0) === 0xfeff) decoded = decoded.slice(1);
        }
        done(null, decoded === '' ? undefined : decoded);
      },
      flush(done) {
        const rest = decoder.end();
        countReplacements(rest, undefined);
        done(null, rest === '' ? undefined : rest);
      },
    }),
  );
  bytes.on('error', (error: Error) => text.destroy(error));
  // stop reading the file when the consumer stops (end, error or cancel)
  text.on('close', () => raw.destroy());
  return text;
}

const replacementBytes = Buffer.from([0xef, 0xbf, 0xbd]);

async function firstSignificantCharacter(path: string): Promise<string | undefined> {
  const stream = openText(path, { limits: datasetImportLimits(), compressedSize: await fileSize(path) });
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

function recordTooLarge(path: string, line: number, limits: DatasetImportLimits, what: string): FacetError {
  return new FacetError(
    'DATASET_RECORD_TOO_LARGE',
    `${path}:${line}: ${what} is longer than ${limits.maxRecordChars} characters (${Math.round(limits.maxRecordChars / 1024 / 1024)} MiB), the longest record Facet imports. Split it, fix the line breaks, or raise FACET_MAX_RECORD_MB.`,
    { path, line, maxRecordChars: limits.maxRecordChars },
  );
}

function tooDeep(path: string, line: number, limits: DatasetImportLimits): FacetError {
  return new FacetError(
    'DATASET_NESTING_TOO_DEEP',
    `${path}:${line}: the JSON nests arrays/objects more than ${limits.maxNestingDepth} levels deep, more than any dataset record needs. Fix that record, or raise FACET_MAX_JSON_DEPTH.`,
    { path, line, maxNestingDepth: limits.maxNestingDepth },
  );
}

/**
 * Lines of a text stream (\n or \r\n), numbered from 1, without holding more than one line; a
 * line over `maxChars` is skipped to its end and reported as `tooLong` instead of collected.
 */
async function* streamLines(stream: Readable, maxChars: number): AsyncGenerator<{ line: number; text: string; tooLong?: true }> {
  let parts: string[] = [];
  let length = 0;
  let discarding = false;
  let line = 1;
  const finish = (text: string): { line: number; text: string; tooLong?: true } => {
    const out: { line: number; text: string; tooLong?: true } = discarding ? { line, text: '', tooLong: true } : { line, text: text.endsWith('\r') ? text.slice(0, -1) : text };
    parts = [];
    length = 0;
    discarding = false;
    line++;
    return out;
  };
  for await (const chunk of stream) {
    const text = chunk as string;
    let start = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
      const piece = text.slice(start, newline);
      start = newline + 1;
      if (!discarding && length + piece.length > maxChars) discarding = true;
      yield finish(discarding ? '' : parts.length === 0 ? piece : parts.join('') + piece);
    }
    const rest = text.length - start;
    if (rest > 0 && !discarding) {
      if (length + rest > maxChars) {
        discarding = true;
        parts = [];
      } else {
        parts.push(start === 0 ? text : text.slice(start));
        length += rest;
      }
    }
  }
  if (discarding || length > 0) yield finish(parts.join(''));
}

/**
 * Streams the records of a dataset file, one parsed value at a time, with the 1-based line
 * where each starts. JSONL, JSON arrays, CSV with a header row, plain text lines; `.gz` is
 * decompressed on the fly. Memory stays bounded by the largest single record.
 */
export async function* readRecords(path: string, layout: FileLayout, options: ReadRecordsOptions = {}): AsyncGenerator<SourceRecord> {
  const compressedSize = await fileSize(path);
  const limits = datasetImportLimits(options.limits);
  // Invalid UTF-8 is reported with the first record that shows a U+FFFD after it was decoded.
  let invalidSeen = 0;
  let invalidReported = 0;
  const noteInvalid = (line: number, text: string): void => {
    if (invalidSeen > invalidReported && text.includes('\ufffd')) {
      invalidReported = invalidSeen;
      options.onInvalidUtf8?.(invalidSeen, line);
    }
  };
  const stream = openText(path, { onBytes: options.onBytes, limits, compressedSize, onInvalidUtf8: (count) => (invalidSeen = count) });
  try {
    if (layout === 'jsonl' || layout === 'text-lines') {
      try {
        for await (const { line, text, tooLong } of streamLines(stream, limits.maxRecordChars)) {
          if ((line & 1023) === 0) throwIfAborted(options.signal);
          noteInvalid(line, text);
          if (tooLong === true) {
            const error = recordTooLarge(path, line, limits, 'the line');
            yield { line, error: error.message, code: error.code };
            continue;
          }
          if (text.trim() === '') continue;
          if (layout === 'text-lines') {
            yield { line, value: { text } };
            continue;
          }
          if (jsonNestsDeeperThan(text, limits.maxNestingDepth)) {
            const error = tooDeep(path, line, limits);
            yield { line, error: error.message, code: error.code };
            continue;
          }
          try {
            yield { line, value: JSON.parse(text) };
          } catch (error) {
            yield { line, error: jsonProblem(error, text, line) };
          }
        }
      } catch (error) {
        if (error instanceof FacetError) throw error;
        throw gzipError(path, error);
      }
      return;
    }
    if (layout === 'json-array') {
      const splitter = new JsonArraySplitter(path, { maxElementChars: limits.maxRecordChars, maxDepth: limits.maxNestingDepth });
      try {
        for await (const chunk of stream) {
          throwIfAborted(options.signal);
          let elements;
          try {
            elements = splitter.push(chunk as string);
          } catch (error) {
            if (error instanceof JsonArraySplitter.LimitError) {
              throw error.kind === 'size' ? recordTooLarge(path, error.line, limits, 'the array element starting here') : tooDeep(path, error.line, limits);
            }
            throw new FacetError('DATASET_LINE_INVALID', `${path} ${(error as Error).message}. Fix the JSON array or convert the file to JSON Lines.`, { path });
          }
          for (const element of elements) {
            noteInvalid(element.line, element.text);
            try {
              yield { line: element.line, value: JSON.parse(element.text) };
            } catch (error) {
              yield { line: element.line, error: jsonProblem(error, element.text, element.line) };
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
    const parser = new CsvParser({ maxRecordChars: limits.maxRecordChars });
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
        noteInvalid(row.line, row.fields.join(','));
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
      if (error instanceof CsvParser.RecordTooLarge) throw recordTooLarge(path, error.line, limits, 'the CSV row starting here');
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
