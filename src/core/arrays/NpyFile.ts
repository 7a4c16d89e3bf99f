import { open, type FileHandle } from 'node:fs/promises';
import { FacetError } from '../../shared/FacetError.ts';

/**
 * NumPy `.npy` files (format versions 1.0–3.0 read, 1.0 written), little-endian, C order.
 * Reading converts float16/float64/int32 payloads to float32; writing is float32 (or int32/int64
 * for index arrays). Large arrays stream row by row through {@link NpyReader} and
 * {@link NpyWriter}, so a `[tokens, dSae]` file never has to fit in memory.
 */
export type NpyDtype = 'float32' | 'float64' | 'float16' | 'int32' | 'int64';

export interface NpyHeader {
  dtype: NpyDtype;
  /** Array shape; `[]` for a scalar. */
  shape: number[];
  /** Byte offset of the first element. */
  dataOffset: number;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

const DESCR_TO_DTYPE: Record<string, NpyDtype> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<f2': 'float16',
  '<i4': 'int32',
  '<i8': 'int64',
  '|f4': 'float32',
};

const DTYPE_TO_DESCR: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  float16: '<f2',
  int32: '<i4',
  int64: '<i8',
};

export function npyItemSize(dtype: NpyDtype): number {
  switch (dtype) {
    case 'float16':
      return 2;
    case 'float32':
    case 'int32':
      return 4;
    case 'float64':
    case 'int64':
      return 8;
  }
}

function invalid(path: string, what: string, fix = 'Write the array with numpy.save (little-endian, C order).'): FacetError {
  return new FacetError('INVALID_ARGUMENT', `${path} is not a readable .npy file: ${what}. ${fix}`, { path });
}

/** Parses the header bytes at the start of a `.npy` file. */
export function parseNpyHeader(bytes: Buffer, path: string): NpyHeader {
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(MAGIC)) throw invalid(path, 'the magic bytes \\x93NUMPY are missing');
  const major = bytes[6];
  let headerLength: number;
  let start: number;
  if (major === 1) {
    headerLength = bytes.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw invalid(path, 'the header is truncated');
    headerLength = bytes.readUInt32LE(8);
    start = 12;
  } else {
    throw invalid(path, `format version ${String(major)} is unknown`);
  }
  if (bytes.length < start + headerLength) throw invalid(path, 'the header is truncated');
  const text = bytes.subarray(start, start + headerLength).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw invalid(path, `the header dictionary cannot be parsed (${text.trim()})`);
  const dtype = DESCR_TO_DTYPE[descr];
  if (dtype === undefined) throw invalid(path, `dtype '${descr}' is not supported`, 'Save the array as float32 (arr.astype("<f4")).');
  if (fortran === 'True') throw invalid(path, 'the array is stored in Fortran order', 'Save np.ascontiguousarray(arr) instead.');
  const shape = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => Number.parseInt(part, 10));
  if (shape.some((dim) => !Number.isSafeInteger(dim) || dim < 0)) throw invalid(path, `the shape (${shapeText}) is not a list of sizes`);
  return { dtype, shape, dataOffset: start + headerLength };
}

/** Builds a version 1.0 header padded to a multiple of 64 bytes (numpy's alignment). */
export function formatNpyHeader(dtype: NpyDtype, shape: readonly number[], minLength = 0): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${DTYPE_TO_DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.max(Math.ceil(unpadded / 64) * 64, Math.ceil(minLength / 64) * 64);
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  if (dict.length + 10 > 0xffff) throw new FacetError('INVALID_ARGUMENT', `The .npy header for shape ${shapeText} is too long.`);
  const header = Buffer.alloc(10);
  MAGIC.copy(header, 0);
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(dict.length, 8);
  return Buffer.concat([header, Buffer.from(dict, 'latin1')]);
}

/** Converts raw little-endian element bytes to float32. */
export function npyBytesToFloat32(bytes: Buffer, dtype: NpyDtype): Float32Array {
  const count = bytes.length / npyItemSize(dtype);
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'float32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'float16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      break;
    case 'int32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      break;
    case 'int64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      break;
  }
  return out;
}

/** IEEE 754 binary16 → number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const HEADER_PROBE = 4096;

/**
 * Streams the rows of a `.npy` array (the first axis is the row axis). Rows come back as float32.
 */
export class NpyReader {
  readonly path: string;
  readonly header: NpyHeader;
  /** Number of rows (first dimension; 1 for a scalar). */
  readonly rows: number;
  /** Elements per row (product of the remaining dimensions). */
  readonly rowLength: number;
  private readonly file: FileHandle;

  private constructor(path: string, file: FileHandle, header: NpyHeader) {
    this.path = path;
    this.file = file;
    this.header = header;
    this.rows = header.shape.length === 0 ? 1 : (header.shape[0] ?? 0);
    this.rowLength = header.shape.slice(1).reduce((a, b) => a * b, 1);
  }

  static async open(path: string): Promise<NpyReader> {
    let file: FileHandle;
    try {
      file = await open(path, 'r');
    } catch (error) {
      throw new FacetError('INVALID_ARGUMENT', `Cannot open ${path}: ${(error as Error).message}. Check the path.`, { path }, { cause: error });
    }
    try {
      const probe = Buffer.alloc(HEADER_PROBE);
      const { bytesRead } = await file.read(probe, 0, HEADER_PROBE, 0);
      const header = parseNpyHeader(probe.subarray(0, bytesRead), path);
      const { size } = await file.stat();
      const expected = header.dataOffset + header.shape.reduce((a, b) => a * b, 1) * npyItemSize(header.dtype);
      if (size < expected) throw invalid(path, `the data is truncated (${size} bytes, shape ${JSON.stringify(header.shape)} needs ${expected})`, 'Write the file again; it was cut short.');
      return new NpyReader(path, file, header);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** Reads `count` rows starting at row `start` as float32 `[count, rowLength]` row-major. */
  async readRows(start: number, count: number): Promise<Float32Array> {
    const end = Math.min(this.rows, start + count);
    const n = Math.max(0, end - start);
    const item = npyItemSize(this.header.dtype);
    const bytes = Buffer.alloc(n * this.rowLength * item);
    if (bytes.length > 0) {
      const position = this.header.dataOffset + start * this.rowLength * item;
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await this.file.read(bytes, done, Math.min(bytes.length - done, 1 << 28), position + done);
        if (bytesRead === 0) throw invalid(this.path, 'the data ended early');
        done += bytesRead;
      }
    }
    if (this.header.dtype === 'float32' && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    return npyBytesToFloat32(bytes, this.header.dtype);
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

/** Reads a whole `.npy` array as float32. */
export async function readNpy(path: string): Promise<{ shape: number[]; data: Float32Array }> {
  const reader = await NpyReader.open(path);
  try {
    return { shape: reader.header.shape, data: await reader.readRows(0, reader.rows) };
  } finally {
    await reader.close();
  }
}

/** Writes a whole array. `data` length must equal the product of `shape`. */
export async function writeNpy(path: string, data: Float32Array | Int32Array | BigInt64Array, shape: readonly number[]): Promise<void> {
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new FacetError('INVALID_ARGUMENT', `writeNpy: ${data.length} elements do not fill shape ${JSON.stringify(shape)}.`);
  const header = formatNpyHeader(dtypeOf(data), shape);
  const file = await openForWrite(path);
  try {
    await file.write(header, 0, header.length, 0);
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let done = 0;
    while (done < bytes.length) done += (await file.write(bytes, done, Math.min(bytes.length - done, 1 << 28), header.length + done)).bytesWritten;
  } finally {
    await file.close();
  }
}

async function openForWrite(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'w');
  } catch (error) {
    throw new FacetError('INVALID_ARGUMENT', `Cannot write ${path}: ${(error as Error).message}. Check that the folder exists and is writable.`, { path }, { cause: error });
  }
}

function dtypeOf(data: Float32Array | Int32Array | BigInt64Array): NpyDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  return 'int64';
}

/**
 * Appends rows to a `.npy` file whose row count is not known up front; {@link close} writes the
 * final shape into the header (space for it is reserved when the file is created).
 */
export class NpyWriter {
  readonly path: string;
  readonly rowShape: readonly number[];
  readonly dtype: NpyDtype;
  private readonly file: FileHandle;
  private readonly headerLength: number;
  private readonly rowLength: number;
  private rowsWritten = 0;
  private position: number;
  private closed = false;

  private constructor(path: string, file: FileHandle, rowShape: readonly number[], dtype: NpyDtype, headerLength: number) {
    this.path = path;
    this.file = file;
    this.rowShape = rowShape;
    this.dtype = dtype;
    this.headerLength = headerLength;
    this.position = headerLength;
    this.rowLength = rowShape.reduce((a, b) => a * b, 1);
  }

  /** `rowShape`: the shape of one row, e.g. `[dSae]` for a `[N, dSae]` array. */
  static async create(path: string, rowShape: readonly number[], dtype: 'float32' | 'int32' | 'int64' = 'float32'): Promise<NpyWriter> {
    // Reserve room for a 16-digit row count so the header never grows when it is patched.
    const header = formatNpyHeader(dtype, [10 ** 15, ...rowShape]);
    const file = await openForWrite(path);
    const placeholder = formatNpyHeader(dtype, [0, ...rowShape], header.length);
    await file.write(placeholder, 0, placeholder.length, 0);
    return new NpyWriter(path, file, rowShape, dtype, placeholder.length);
  }

  get rows(): number {
    return this.rowsWritten;
  }

  /** Appends whole rows (`data.length` must be a multiple of the row length). */
  async append(data: Float32Array | Int32Array | BigInt64Array): Promise<void> {
    if (this.rowLength > 0 && data.length % this.rowLength !== 0) {
      throw new FacetError('INVALID_ARGUMENT', `NpyWriter(${this.path}): ${data.length} elements are not whole rows of ${this.rowLength}.`);
    }
    if (dtypeOf(data) !== this.dtype) throw new FacetError('INVALID_ARGUMENT', `NpyWriter(${this.path}) writes ${this.dtype}, got ${dtypeOf(data)}.`);
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.file.write(bytes, done, Math.min(bytes.length - done, 1 << 28), this.position + done);
      done += bytesWritten;
    }
    this.position += bytes.length;
    this.rowsWritten += this.rowLength > 0 ? data.length / this.rowLength : 0;
  }

  /** Writes the final shape into the header and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      const header = formatNpyHeader(this.dtype, [this.rowsWritten, ...this.rowShape], this.headerLength);
      if (header.length !== this.headerLength) throw new Error('npy header length changed');
      await this.file.write(header, 0, header.length, 0);
    } finally {
      await this.file.close();
    }
  }
}
