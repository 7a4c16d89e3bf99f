import { open, type FileHandle } from 'node:fs/promises';
import { FacetError } from '../../../shared/FacetError.ts';
import { halfToFloat } from '../../arrays/NpyFile.ts';

/**
 * safetensors: 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {…}}`, then the data
 * (offsets relative to the end of the header). Tensors are read one at a time, converted to
 * float32, in chunks, so a 1 GiB matrix never needs a second 1 GiB buffer.
 */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64';

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offsets in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  path: string;
  tensors: Map<string, SafetensorsTensorInfo>;
  metadata: Record<string, string>;
}

const ITEM_SIZE: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const MAX_HEADER = 100 * 1024 * 1024;

function invalid(path: string, what: string, fix = 'Download or export the file again.'): FacetError {
  return new FacetError('SAE_FILE_INVALID', `${path} is not a valid safetensors file: ${what}. ${fix}`, { file: path });
}

async function readExactly(file: FileHandle, buffer: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    // One read is capped below 2 GiB by Node; 256 MiB steps keep every read legal.
    const { bytesRead } = await file.read(buffer, done, Math.min(buffer.length - done, 1 << 28), position + done);
    if (bytesRead === 0) throw invalid(path, `the file ends at byte ${position + done}, inside data that should reach byte ${position + buffer.length}`);
    done += bytesRead;
  }
}

/** Reads and checks the header: every tensor inside the file, sizes matching dtype × shape. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const file = await openOrThrow(path);
  try {
    const { size } = await file.stat();
    if (size < 8) throw invalid(path, `it is ${size} bytes long, shorter than the 8-byte header length`);
    const lengthBytes = Buffer.alloc(8);
    await readExactly(file, lengthBytes, 0, path);
    const headerLength = Number(lengthBytes.readBigUInt64LE(0));
    if (headerLength > MAX_HEADER || 8 + headerLength > size) throw invalid(path, `the header claims ${headerLength} bytes but the file has ${size}`, 'The file is truncated or not safetensors; download it again.');
    const headerBytes = Buffer.alloc(headerLength);
    await readExactly(file, headerBytes, 8, path);
    let json: unknown;
    try {
      json = JSON.parse(headerBytes.toString('utf8'));
    } catch (error) {
      throw invalid(path, `the JSON header does not parse (${(error as Error).message})`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid(path, 'the header is not a JSON object');
    const dataStart = 8 + headerLength;
    const dataLength = size - dataStart;
    const tensors = new Map<string, SafetensorsTensorInfo>();
    let metadata: Record<string, string> = {};
    for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (entry !== null && (typeof entry !== 'object' || Array.isArray(entry))) throw invalid(path, '__metadata__ is not a JSON object of strings');
        metadata = (entry ?? {}) as Record<string, string>;
        continue;
      }
      tensors.set(name, checkedTensor(path, name, entry, dataStart, dataLength));
    }
    // The safetensors spec (safetensors/src/tensor.rs, validate): data_offsets are relative to the
    // data section, lie inside it, and tensors do not overlap.
    const ordered = [...tensors.values()].sort((a, b) => a.begin - b.begin);
    for (let i = 1; i < ordered.length; i++) {
      const previous = ordered[i - 1] as SafetensorsTensorInfo;
      const current = ordered[i] as SafetensorsTensorInfo;
      if (current.begin < previous.end) throw invalid(path, `tensors '${previous.name}' and '${current.name}' overlap (data_offsets [${previous.begin - dataStart}, ${previous.end - dataStart}] and [${current.begin - dataStart}, ${current.end - dataStart}])`);
    }
    return { path, tensors, metadata };
  } finally {
    await file.close();
  }
}

/** One header entry, checked: dtype known, shape of non-negative integers, offsets inside the data section and matching dtype × shape. */
function checkedTensor(path: string, name: string, entry: unknown, dataStart: number, dataLength: number): SafetensorsTensorInfo {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalid(path, `header entry '${name}' is ${entry === null ? 'null' : JSON.stringify(entry)}, not {dtype, shape, data_offsets}`);
  const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) {
    throw invalid(path, `tensor '${name}' lacks dtype, shape or data_offsets`);
  }
  if (!(e.dtype in ITEM_SIZE)) throw invalid(path, `tensor '${name}' has dtype ${e.dtype}; Facet reads F32, F16, BF16 and F64`, 'Convert the weights to float32, float16 or bfloat16.');
  const dtype = e.dtype as SafetensorsDtype;
  const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  if (!e.shape.every(isCount)) throw invalid(path, `tensor '${name}' has shape ${JSON.stringify(e.shape)}; dimensions must be integers ≥ 0`);
  const shape = e.shape as number[];
  const [begin, end] = e.data_offsets as [unknown, unknown];
  if (!isCount(begin) || !isCount(end) || end < begin) throw invalid(path, `tensor '${name}' has data_offsets ${JSON.stringify(e.data_offsets)}; they must be integers with 0 ≤ begin ≤ end`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (end - begin !== count * ITEM_SIZE[dtype]) throw invalid(path, `tensor '${name}' spans ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${count * ITEM_SIZE[dtype]}`);
  if (end > dataLength) throw invalid(path, `tensor '${name}' ends at byte ${dataStart + end} but the file has ${dataStart + dataLength} bytes`, 'The file is truncated; download it again.');
  return { name, dtype, shape, begin: dataStart + begin, end: dataStart + end };
}

async function openOrThrow(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    throw new FacetError('SAE_FILE_INVALID', `Cannot open ${path}: ${(error as Error).message}. Check the path.`, { file: path }, { cause: error });
  }
}

const CHUNK = 16 * 1024 * 1024;

/** Reads one tensor as float32 (converting F16/BF16/F64), in file order. */
export async function readSafetensorsTensor(header: SafetensorsHeader, name: string): Promise<Float32Array> {
  const info = header.tensors.get(name);
  if (info === undefined) throw new FacetError('SAE_FILE_INVALID', `${header.path} has no tensor '${name}' (it has ${[...header.tensors.keys()].join(', ')}).`, { file: header.path, tensor: name });
  return readRawTensor(header.path, info.begin, info.end - info.begin, info.dtype);
}

/**
 * Reads rows `start .. start + count − 1` of a tensor whose first axis is the row axis, as
 * float32 `[count, rowLength]` (for streaming `[tokens, dIn]` activation files).
 */
export async function readSafetensorsRows(header: SafetensorsHeader, name: string, start: number, count: number): Promise<Float32Array> {
  const info = header.tensors.get(name);
  if (info === undefined) throw new FacetError('SAE_FILE_INVALID', `${header.path} has no tensor '${name}' (it has ${[...header.tensors.keys()].join(', ')}).`, { file: header.path, tensor: name });
  const rows = info.shape[0] ?? 1;
  const rowBytes = (info.end - info.begin) / Math.max(1, rows);
  const first = Math.min(start, rows);
  const last = Math.min(rows, start + count);
  return readRawTensor(header.path, info.begin + first * rowBytes, (last - first) * rowBytes, info.dtype);
}

/** Reads `byteLength` bytes at `position` holding `dtype` values (little-endian) as float32. */
export async function readRawTensor(path: string, position: number, byteLength: number, dtype: SafetensorsDtype): Promise<Float32Array> {
  const item = ITEM_SIZE[dtype];
  const out = new Float32Array(byteLength / item);
  const file = await openOrThrow(path);
  try {
    if (dtype === 'F32') {
      await readExactly(file, new Uint8Array(out.buffer), position, path);
      return out;
    }
    const chunk = Buffer.alloc(Math.min(CHUNK, byteLength));
    for (let offset = 0; offset < byteLength; offset += chunk.length) {
      const bytes = chunk.subarray(0, Math.min(chunk.length, byteLength - offset));
      await readExactly(file, bytes, position + offset, path);
      convertInto(out, offset / item, bytes, dtype);
    }
    return out;
  } finally {
    await file.close();
  }
}

function convertInto(out: Float32Array, start: number, bytes: Buffer, dtype: SafetensorsDtype): void {
  const count = bytes.length / ITEM_SIZE[dtype];
  if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32.
    const widened = new Uint32Array(count);
    for (let i = 0; i < count; i++) widened[i] = bytes.readUInt16LE(i * 2) << 16;
    out.set(new Float32Array(widened.buffer), start);
  } else if (dtype === 'F16') {
    for (let i = 0; i < count; i++) out[start + i] = halfToFloat(bytes.readUInt16LE(i * 2));
  } else {
    for (let i = 0; i < count; i++) out[start + i] = bytes.readDoubleLE(i * 8);
  }
}

export interface SafetensorsTensorInput {
  /** Defaults to F32. F16/BF16 round to nearest even from the float32 values. */
  dtype?: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

/** Writes a safetensors file (tensors in the given order, F32/F16/BF16/F64). */
export async function writeSafetensors(path: string, tensors: Record<string, SafetensorsTensorInput>, metadata?: Record<string, string>): Promise<void> {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header['__metadata__'] = metadata;
  let offset = 0;
  const entries = Object.entries(tensors);
  for (const [name, tensor] of entries) {
    const dtype = tensor.dtype ?? 'F32';
    const length = tensor.data.length * ITEM_SIZE[dtype];
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let json = JSON.stringify(header);
  json = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
  const jsonBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(jsonBytes.length));
  const file = await open(path, 'w');
  try {
    let position = 0;
    const write = async (bytes: Uint8Array): Promise<void> => {
      let done = 0;
      while (done < bytes.length) done += (await file.write(bytes, done, Math.min(bytes.length - done, 1 << 28), position + done)).bytesWritten;
      position += bytes.length;
    };
    await write(prefix);
    await write(jsonBytes);
    for (const [, tensor] of entries) await write(encodeTensor(tensor.data, tensor.dtype ?? 'F32'));
  } finally {
    await file.close();
  }
}

function encodeTensor(data: Float32Array, dtype: SafetensorsDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (dtype === 'F64') return new Uint8Array(Float64Array.from(data).buffer);
  const out = Buffer.alloc(data.length * 2);
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < data.length; i++) {
    out.writeUInt16LE(dtype === 'BF16' ? floatBitsToBf16(bits[i] as number) : floatToHalf(data[i] as number), i * 2);
  }
  return out;
}

/** float32 bits → bfloat16 bits, round to nearest even (NaN stays NaN). */
export function floatBitsToBf16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  const rounding = 0x7fff + ((bits >>> 16) & 1);
  return ((bits + rounding) >>> 16) & 0xffff;
}

/** number → IEEE binary16 bits, round to nearest even. */
export function floatToHalf(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= 65520) return sign | 0x7c00;
  if (magnitude < 2 ** -24 / 2) return sign;
  if (magnitude < 2 ** -14) return sign | Math.round(magnitude / 2 ** -24);
  let exponent = Math.floor(Math.log2(magnitude));
  let mantissa = magnitude / 2 ** exponent - 1;
  let fraction = Math.round(mantissa * 1024);
  if (fraction === 1024) {
    fraction = 0;
    exponent += 1;
  }
  mantissa = fraction;
  return sign | ((exponent + 15) << 10) | mantissa;
}
