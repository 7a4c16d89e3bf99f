import { open, rename, rm } from 'node:fs/promises';
import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import { float32ToFloat16Bits } from './Float16.ts';
import { ggmlTensorByteSize, ggmlTypeByName } from './GgmlType.ts';
import { ggufTypeIds, type GgufScalarType, type GgufValue } from './GgufValue.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

export interface GgufTensorSpec {
  name: string;
  /** ggml order: the contiguous (innermost) dimension first, e.g. `[nEmbd, nVocab]` for token_embd. */
  dims: readonly number[];
  type: 'F32' | 'F16';
  /** Row-major values, innermost dimension fastest. A function is called once, when the tensor is written. */
  data: Float32Array | (() => Float32Array);
}

export interface GgufWriteSpec {
  /** Written in this order. `general.alignment` (uint32), if present, sets the data alignment. */
  metadata: Iterable<readonly [string, GgufValue]>;
  tensors: readonly GgufTensorSpec[];
}

export interface GgufWriteOptions {
  signal?: AbortSignal;
  onProgress?: (doneTensors: number, totalTensors: number) => void;
}

/**
 * Writes a GGUF v3 file: header, metadata, tensor infos, then tensor data each padded to the
 * alignment. The file appears atomically (written beside, then renamed). Deterministic: the same
 * spec gives the same bytes.
 */
export async function writeGguf(path: string, spec: GgufWriteSpec, options: GgufWriteOptions = {}): Promise<{ bytes: number }> {
  const metadata = [...spec.metadata];
  const alignmentEntry = metadata.find(([key]) => key === 'general.alignment');
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (alignmentEntry !== undefined) {
    const value = alignmentEntry[1];
    if (value.type !== 'uint32' || value.value <= 0 || (value.value & (value.value - 1)) !== 0) {
      throw new FacetError('INVALID_ARGUMENT', `general.alignment must be a uint32 power of two (got ${String(value.value)}).`);
    }
    alignment = value.value;
  }

  const names = new Set<string>();
  const layout = spec.tensors.map((tensor) => {
    if (names.has(tensor.name)) throw new FacetError('INVALID_ARGUMENT', `Tensor ${tensor.name} appears twice.`);
    names.add(tensor.name);
    const type = ggmlTypeByName(tensor.type);
    const elements = tensor.dims.reduce((a, b) => a * b, 1);
    const bytes = ggmlTensorByteSize(type, elements) ?? 0;
    return { tensor, type, elements, bytes };
  });

  const header = new ByteSink();
  header.u32(GGUF_MAGIC);
  header.u32(GGUF_VERSION);
  header.u64(BigInt(spec.tensors.length));
  header.u64(BigInt(metadata.length));
  for (const [key, value] of metadata) {
    header.string(key);
    writeValue(header, key, value);
  }
  let offset = 0;
  for (const { tensor, type, bytes } of layout) {
    header.string(tensor.name);
    header.u32(tensor.dims.length);
    for (const dim of tensor.dims) header.u64(BigInt(dim));
    header.u32(type.id);
    header.u64(BigInt(offset));
    offset += padTo(bytes, alignment);
  }
  header.zeros(padTo(header.length, alignment) - header.length);

  const partPath = `${path}.part-${process.pid}`;
  const file = await open(partPath, 'w');
  let written = 0;
  try {
    written += (await file.write(header.toBuffer())).bytesWritten;
    let done = 0;
    for (const { tensor, type, elements, bytes } of layout) {
      throwIfAborted(options.signal);
      const values = typeof tensor.data === 'function' ? tensor.data() : tensor.data;
      if (values.length !== elements) {
        throw new FacetError('INVALID_ARGUMENT', `Tensor ${tensor.name} has ${values.length} values but dims [${tensor.dims.join(', ')}] need ${elements}.`);
      }
      const buffer = Buffer.alloc(padTo(bytes, alignment));
      if (type.name === 'F32') {
        Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(buffer, 0);
      } else {
        for (let i = 0; i < values.length; i++) buffer.writeUInt16LE(float32ToFloat16Bits(values[i] ?? 0), i * 2);
      }
      written += (await file.write(buffer)).bytesWritten;
      done += 1;
      options.onProgress?.(done, layout.length);
    }
    await file.close();
    await rename(partPath, path);
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(partPath, { force: true });
    throw error;
  }
  return { bytes: written };
}

function padTo(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

function writeValue(sink: ByteSink, key: string, value: GgufValue): void {
  if (value.type === 'array') {
    sink.u32(ggufTypeIds.array);
    sink.u32(ggufTypeIds[value.elementType]);
    sink.u64(BigInt(value.value.length));
    for (const element of value.value) writeScalar(sink, key, value.elementType, element);
    return;
  }
  sink.u32(ggufTypeIds[value.type]);
  writeScalar(sink, key, value.type, value.value);
}

function writeScalar(sink: ByteSink, key: string, type: GgufScalarType, value: number | bigint | boolean | string): void {
  const bad = (): never => {
    throw new FacetError('INVALID_ARGUMENT', `Metadata key ${key}: ${String(value)} is not a valid ${type}.`);
  };
  switch (type) {
    case 'string':
      if (typeof value !== 'string') bad();
      sink.string(value as string);
      return;
    case 'bool':
      if (typeof value !== 'boolean') bad();
      sink.u8(value ? 1 : 0);
      return;
    case 'uint64':
    case 'int64':
      if (typeof value !== 'bigint') bad();
      if (type === 'uint64') sink.u64(value as bigint);
      else sink.i64(value as bigint);
      return;
    default: {
      if (typeof value !== 'number') bad();
      const n = value as number;
      const integerRanges: Record<string, [number, number]> = {
        uint8: [0, 0xff], int8: [-0x80, 0x7f], uint16: [0, 0xffff], int16: [-0x8000, 0x7fff], uint32: [0, 0xffffffff], int32: [-0x80000000, 0x7fffffff],
      };
      const range = integerRanges[type];
      if (range !== undefined && (!Number.isInteger(n) || n < range[0] || n > range[1])) bad();
      switch (type) {
        case 'uint8': sink.u8(n); return;
        case 'int8': sink.scratch(1).writeInt8(n, 0); return;
        case 'uint16': sink.scratch(2).writeUInt16LE(n, 0); return;
        case 'int16': sink.scratch(2).writeInt16LE(n, 0); return;
        case 'uint32': sink.u32(n); return;
        case 'int32': sink.scratch(4).writeInt32LE(n, 0); return;
        case 'float32': sink.scratch(4).writeFloatLE(n, 0); return;
        case 'float64': sink.scratch(8).writeDoubleLE(n, 0); return;
      }
    }
  }
}

/** A growable little-endian byte buffer. */
class ByteSink {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  /** Reserves `n` bytes at the end and returns a view onto them. */
  scratch(n: number): Buffer {
    if (this.length + n > this.buffer.length) {
      const next = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + n));
      this.buffer.copy(next, 0, 0, this.length);
      this.buffer = next;
    }
    const view = this.buffer.subarray(this.length, this.length + n);
    this.length += n;
    return view;
  }

  u8(n: number): void { this.scratch(1)[0] = n; }
  u32(n: number): void { this.scratch(4).writeUInt32LE(n, 0); }
  u64(n: bigint): void { this.scratch(8).writeBigUInt64LE(n, 0); }
  i64(n: bigint): void { this.scratch(8).writeBigInt64LE(n, 0); }
  zeros(n: number): void { this.scratch(n).fill(0); }

  string(text: string): void {
    const bytes = Buffer.byteLength(text, 'utf8');
    this.u64(BigInt(bytes));
    this.scratch(bytes).write(text, 0, 'utf8');
  }

  toBuffer(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}
