import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import { float16BitsToFloat32 } from './Float16.ts';
import { ggmlTensorByteSize, ggmlTypeById, type GgmlTypeInfo } from './GgmlType.ts';
import { ggufTypeNameById, type GgufScalarType, type GgufValue } from './GgufValue.ts';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC } from './GgufWriter.ts';
import { requireGgufFile } from './requireGgufFile.ts';

export interface GgufTensorInfo {
  name: string;
  /** ggml order: contiguous dimension first. */
  dims: number[];
  type: GgmlTypeInfo;
  elementCount: number;
  byteSize: number;
  /** Absolute byte offset of the tensor's data in the file. */
  fileOffset: number;
}

export interface GgufHeader {
  path: string;
  version: number;
  fileSize: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute offset where the tensor data section starts. */
  dataOffset: number;
}

export interface ReadGgufOptions {
  signal?: AbortSignal;
}

const CHUNK = 1 << 20;
const MAX_DIMS = 4;

/**
 * Reads a GGUF file's metadata and tensor infos, streaming through the header in 1 MiB chunks
 * (the tensor data is never read). Not a GGUF: `GGUF_INVALID`; cut short, in the header or in
 * the tensor data: `GGUF_TRUNCATED`. Messages name the file and the byte offset.
 */
export async function readGgufHeader(path: string, options: ReadGgufOptions = {}): Promise<GgufHeader> {
  const file = await openModelFile(path);
  try {
    const fileSize = (await file.stat()).size;
    const input = new ChunkedInput(file, path, fileSize);
    return await parseHeader(input, path, fileSize, options.signal);
  } finally {
    await file.close();
  }
}

/** Opens a regular file for reading; missing, a folder or a special file: the coded errors of {@link requireGgufFile}. */
async function openModelFile(path: string): Promise<FileHandle> {
  await requireGgufFile(path);
  try {
    return await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new FacetError('MODEL_FILE_NOT_FOUND', `Model file ${path} does not exist. Check the path, or register the model again with \`facet models add\`.`, { path });
    }
    if (code === 'EISDIR') throw new FacetError('MODEL_PATH_IS_DIRECTORY', `${path} is a folder, not a GGUF file. Pass the .gguf file inside it.`, { path });
    throw error;
  }
}

async function parseHeader(input: ChunkedInput, path: string, fileSize: number, signal: AbortSignal | undefined): Promise<GgufHeader> {
  const invalid = (message: string, offset: number): never => {
    throw new FacetError('GGUF_INVALID', `${path}: ${message} (byte offset ${offset}). This is not a usable GGUF model file: pick a .gguf file produced by llama.cpp's converters.`, { path, offset });
  };

  if (fileSize === 0) invalid('the file is empty', 0);
  if (fileSize < 4) {
    const head = await input.peekAvailable(fileSize);
    if (Buffer.from('GGUF').subarray(0, fileSize).equals(head)) await input.need(4); // a cut-off magic: truncated
    invalid('the file is too small to be a GGUF file', 0);
  }
  await input.need(4);
  if (input.u32() !== GGUF_MAGIC) invalid('the file does not start with the GGUF magic bytes', 0);
  await input.need(4);
  const version = input.u32();
  if (version === 1) {
    throw new FacetError('GGUF_VERSION_UNSUPPORTED', `${path} is a GGUF version 1 file (byte offset 4), a format llama.cpp no longer reads. Convert the original model again with a current llama.cpp (convert_hf_to_gguf.py), or download a newer GGUF of it.`, { path, offset: 4, version });
  }
  if ((version & 0xffff) === 0 && version !== 0) invalid('the file is a big-endian GGUF, which Facet does not read', 4);
  if (version !== 2 && version !== 3) invalid(`unknown GGUF version ${version}`, 4);

  await input.need(16);
  const tensorCountOffset = input.offset;
  const tensorCount = input.u64AsNumber();
  const kvCount = input.u64AsNumber();
  // Every tensor info and every KV needs at least 8 bytes: counts beyond that cannot fit in the file.
  if (tensorCount > fileSize / 8 || kvCount > fileSize / 8) {
    throw truncatedError(path, `the header declares ${tensorCount} tensors and ${kvCount} metadata keys, more than the file can hold`, tensorCountOffset, fileSize);
  }

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    if (i % 64 === 0) throwIfAborted(signal);
    const keyOffset = input.offset;
    const key = await input.string();
    if (metadata.has(key)) invalid(`metadata key ${key} appears twice`, keyOffset);
    await input.need(4);
    const typeOffset = input.offset;
    const typeName = ggufTypeNameById(input.u32());
    if (typeName === undefined) invalid(`metadata key ${key} has an unknown value type`, typeOffset);
    if (typeName === 'array') {
      await input.need(12);
      const elementTypeOffset = input.offset;
      const elementType = ggufTypeNameById(input.u32());
      if (elementType === undefined || elementType === 'array') invalid(`metadata key ${key} is an array of an unsupported element type`, elementTypeOffset);
      const countOffset = input.offset;
      const count = input.u64AsNumber();
      if (count > fileSize - input.offset) {
        throw truncatedError(path, `metadata array ${key} declares ${count} elements, more than the rest of the file holds`, countOffset, fileSize);
      }
      metadata.set(key, await readArray(input, elementType as GgufScalarType, count, signal));
    } else {
      metadata.set(key, await readScalar(input, typeName as GgufScalarType));
    }
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignmentValue = metadata.get('general.alignment');
  if (alignmentValue !== undefined) {
    if (alignmentValue.type !== 'uint32' || alignmentValue.value === 0 || (alignmentValue.value & (alignmentValue.value - 1)) !== 0) {
      invalid('general.alignment is not a uint32 power of two', 0);
    }
    alignment = alignmentValue.value as number;
  }

  const pending: { name: string; dims: number[]; type: GgmlTypeInfo; elementCount: number; byteSize: number; relative: number; infoOffset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    if (i % 64 === 0) throwIfAborted(signal);
    const infoOffset = input.offset;
    const tensorName = await input.string();
    await input.need(4);
    const nDims = input.u32();
    if (nDims === 0 || nDims > MAX_DIMS) invalid(`tensor ${tensorName} has ${nDims} dimensions (1 to ${MAX_DIMS} allowed)`, infoOffset);
    await input.need(8 * nDims + 12);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(input.u64AsNumber());
    const typeOffset = input.offset;
    const typeId = input.u32();
    const type = ggmlTypeById(typeId);
    if (type === undefined) invalid(`tensor ${tensorName} has unknown ggml type id ${typeId} (a newer quantization? update Facet)`, typeOffset);
    const elementCount = dims.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(elementCount)) invalid(`tensor ${tensorName} has an impossible shape [${dims.join(', ')}]`, infoOffset);
    const byteSize = ggmlTensorByteSize(type as GgmlTypeInfo, elementCount);
    if (byteSize === undefined) invalid(`tensor ${tensorName} (${elementCount} elements) is not a whole number of ${(type as GgmlTypeInfo).name} blocks`, infoOffset);
    const relativeOffset = input.offset;
    const relative = input.u64AsNumber();
    if (relative % alignment !== 0) invalid(`tensor ${tensorName} data offset ${relative} is not a multiple of the alignment ${alignment}`, relativeOffset);
    pending.push({ name: tensorName, dims, type: type as GgmlTypeInfo, elementCount, byteSize: byteSize as number, relative, infoOffset });
  }

  const dataOffset = tensorCount > 0 ? Math.ceil(input.offset / alignment) * alignment : input.offset;
  if (tensorCount > 0 && dataOffset > fileSize) {
    throw truncatedError(path, 'the tensor data section starts past the end of the file', dataOffset, fileSize);
  }
  const tensors: GgufTensorInfo[] = pending.map((t) => {
    const fileOffset = dataOffset + t.relative;
    if (fileOffset + t.byteSize > fileSize) {
      throw truncatedError(path, `tensor ${t.name} needs bytes ${fileOffset}..${fileOffset + t.byteSize}`, fileOffset, fileSize);
    }
    return { name: t.name, dims: t.dims, type: t.type, elementCount: t.elementCount, byteSize: t.byteSize, fileOffset };
  });
  return { path, version, fileSize, metadata, tensors, alignment, dataOffset };
}

function truncatedError(path: string, what: string, offset: number, fileSize: number): FacetError {
  return new FacetError(
    'GGUF_TRUNCATED',
    `${path} is truncated: ${what} (byte offset ${offset}), but the file ends at byte ${fileSize}. The file is incomplete (an interrupted download or copy?): download or copy it again.`,
    { path, offset, fileSize },
  );
}

async function readScalar(input: ChunkedInput, type: GgufScalarType): Promise<GgufValue> {
  if (type === 'string') return { type, value: await input.string() };
  await input.need(scalarSize(type));
  switch (type) {
    case 'bool': return { type, value: input.u8() !== 0 };
    case 'uint64': return { type, value: input.u64() };
    case 'int64': return { type, value: input.i64() };
    default: return { type, value: input.number(type) };
  }
}

async function readArray(input: ChunkedInput, elementType: GgufScalarType, count: number, signal: AbortSignal | undefined): Promise<GgufValue> {
  if (elementType === 'string') {
    const values: string[] = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      if ((i & 0xffff) === 0) throwIfAborted(signal);
      values[i] = await input.string();
    }
    return { type: 'array', elementType, value: values };
  }
  const size = scalarSize(elementType);
  // Read in slices so a long array never needs one huge buffer.
  const sliceLength = Math.max(1, Math.floor(CHUNK / size));
  if (elementType === 'uint64' || elementType === 'int64') {
    const values: bigint[] = new Array<bigint>(count);
    for (let i = 0; i < count; i++) {
      if (i % sliceLength === 0) await input.need(Math.min(sliceLength, count - i) * size);
      values[i] = elementType === 'uint64' ? input.u64() : input.i64();
    }
    return { type: 'array', elementType, value: values };
  }
  if (elementType === 'bool') {
    const values: boolean[] = new Array<boolean>(count);
    for (let i = 0; i < count; i++) {
      if (i % sliceLength === 0) await input.need(Math.min(sliceLength, count - i) * size);
      values[i] = input.u8() !== 0;
    }
    return { type: 'array', elementType, value: values };
  }
  const values: number[] = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    if (i % sliceLength === 0) await input.need(Math.min(sliceLength, count - i) * size);
    values[i] = input.number(elementType);
  }
  return { type: 'array', elementType, value: values };
}

function scalarSize(type: GgufScalarType): number {
  switch (type) {
    case 'uint8': case 'int8': case 'bool': return 1;
    case 'uint16': case 'int16': return 2;
    case 'uint32': case 'int32': case 'float32': return 4;
    case 'uint64': case 'int64': case 'float64': return 8;
    case 'string': return 8;
  }
}

/** Sequential little-endian reads over a file, refilled chunk by chunk. */
class ChunkedInput {
  private readonly file: FileHandle;
  private readonly path: string;
  private readonly fileSize: number;
  private buffer = Buffer.alloc(CHUNK);
  /** File offset of buffer[0]. */
  private base = 0;
  private position = 0;
  private end = 0;

  constructor(file: FileHandle, path: string, fileSize: number) {
    this.file = file;
    this.path = path;
    this.fileSize = fileSize;
  }

  get offset(): number {
    return this.base + this.position;
  }

  async peekAvailable(n: number): Promise<Buffer> {
    await this.fill(n, false);
    return this.buffer.subarray(this.position, this.position + Math.min(n, this.end - this.position));
  }

  /** Makes `n` bytes available at the cursor or throws GGUF_TRUNCATED. */
  async need(n: number): Promise<void> {
    if (this.end - this.position >= n) return;
    await this.fill(n, true);
  }

  private async fill(n: number, required: boolean): Promise<void> {
    const kept = this.end - this.position;
    const capacity = Math.max(CHUNK, n);
    const next = capacity > this.buffer.length ? Buffer.alloc(capacity) : this.buffer;
    this.buffer.copy(next, 0, this.position, this.end);
    this.buffer = next;
    this.base += this.position;
    this.position = 0;
    this.end = kept;
    while (this.end < n) {
      const { bytesRead } = await this.file.read(this.buffer, this.end, this.buffer.length - this.end, this.base + this.end);
      if (bytesRead === 0) break;
      this.end += bytesRead;
    }
    if (required && this.end < n) {
      throw truncatedError(this.path, `${n} bytes are needed here`, this.base, this.fileSize);
    }
  }

  u8(): number {
    return this.buffer[this.position++] ?? 0;
  }

  u32(): number {
    const value = this.buffer.readUInt32LE(this.position);
    this.position += 4;
    return value;
  }

  u64(): bigint {
    const value = this.buffer.readBigUInt64LE(this.position);
    this.position += 8;
    return value;
  }

  i64(): bigint {
    const value = this.buffer.readBigInt64LE(this.position);
    this.position += 8;
    return value;
  }

  /** A u64 that must fit in a JS number (counts, sizes, offsets). */
  u64AsNumber(): number {
    const at = this.offset;
    const value = this.u64();
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new FacetError('GGUF_INVALID', `${this.path}: impossible size ${value} at byte offset ${at}. This is not a usable GGUF model file.`, { path: this.path, offset: at });
    }
    return Number(value);
  }

  number(type: 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64'): number {
    const b = this.buffer;
    const p = this.position;
    switch (type) {
      case 'uint8': this.position += 1; return b.readUInt8(p);
      case 'int8': this.position += 1; return b.readInt8(p);
      case 'uint16': this.position += 2; return b.readUInt16LE(p);
      case 'int16': this.position += 2; return b.readInt16LE(p);
      case 'uint32': this.position += 4; return b.readUInt32LE(p);
      case 'int32': this.position += 4; return b.readInt32LE(p);
      case 'float32': this.position += 4; return b.readFloatLE(p);
      case 'float64': this.position += 8; return b.readDoubleLE(p);
    }
  }

  async string(): Promise<string> {
    await this.need(8);
    const at = this.offset;
    const length = this.u64AsNumber();
    if (length > this.fileSize - this.offset) {
      throw truncatedError(this.path, `a string of ${length} bytes starts here`, at, this.fileSize);
    }
    await this.need(length);
    const text = this.buffer.toString('utf8', this.position, this.position + length);
    this.position += length;
    return text;
  }
}

/**
 * Reads one tensor's values as float32 (F32, F16 and BF16 tensors). `[elementCount]`, contiguous
 * dimension fastest.
 */
export async function readTensorAsFloat32(header: GgufHeader, tensorName: string): Promise<Float32Array> {
  const tensor = header.tensors.find((t) => t.name === tensorName);
  if (tensor === undefined) {
    throw new FacetError('GGUF_INVALID', `${basename(header.path)} has no tensor ${tensorName}.`, { path: header.path, tensor: tensorName });
  }
  const file = await openModelFile(header.path);
  try {
    const bytes = Buffer.alloc(tensor.byteSize);
    const { bytesRead } = await file.read(bytes, 0, tensor.byteSize, tensor.fileOffset);
    if (bytesRead !== tensor.byteSize) throw truncatedError(header.path, `tensor ${tensor.name} needs ${tensor.byteSize} bytes`, tensor.fileOffset, (await file.stat()).size);
    const out = new Float32Array(tensor.elementCount);
    switch (tensor.type.name) {
      case 'F32':
        for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
        break;
      case 'F16':
        for (let i = 0; i < out.length; i++) out[i] = float16BitsToFloat32(bytes.readUInt16LE(i * 2));
        break;
      case 'BF16': {
        const view = new DataView(new ArrayBuffer(4));
        for (let i = 0; i < out.length; i++) {
          view.setUint32(0, bytes.readUInt16LE(i * 2) << 16, true);
          out[i] = view.getFloat32(0, true);
        }
        break;
      }
      default:
        throw new FacetError('MODEL_ARCH_UNSUPPORTED', `${basename(header.path)}: tensor ${tensor.name} is ${tensor.type.name}; only F32, F16 and BF16 tensors can be read as floats.`, { path: header.path, tensor: tensor.name });
    }
    return out;
  } finally {
    await file.close();
  }
}
