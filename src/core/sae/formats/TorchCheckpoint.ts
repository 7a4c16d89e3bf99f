import { FacetError } from '../../../shared/FacetError.ts';
import { npyBytesToFloat32 } from '../../arrays/NpyFile.ts';
import { isPickleGlobal, unpickle, type PickleGlobal } from './PickleReader.ts';
import { readRawTensor, type SafetensorsDtype } from './SafetensorsFile.ts';
import { ZipArchive } from './ZipArchive.ts';

/**
 * A `torch.save` file (PyTorch ≥ 1.6): a ZIP with `<prefix>/data.pkl` (the pickled object, tensors
 * as persistent ids) and one `<prefix>/data/<key>` entry per storage. Read without Python:
 * the pickle becomes Maps/Arrays with {@link TorchTensorRef} leaves, and {@link readTensor} reads
 * one tensor's numbers as float32.
 */
export interface TorchStorageRef {
  kind: 'storage';
  key: string;
  dtype: SafetensorsDtype | string;
  /** Elements in the storage. */
  numel: number;
}

export interface TorchTensorRef {
  kind: 'tensor';
  storage: TorchStorageRef;
  /** In elements. */
  offset: number;
  shape: number[];
  stride: number[];
}

const STORAGE_DTYPES: Record<string, SafetensorsDtype | string> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  BoolStorage: 'BOOL',
  ByteStorage: 'U8',
};

const ITEM_SIZE: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, BOOL: 1, U8: 1 };

export function isTorchTensorRef(value: unknown): value is TorchTensorRef {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tensor';
}

export class TorchCheckpoint {
  readonly path: string;
  /** The unpickled object (a state dict is a Map from names to tensors). */
  readonly root: unknown;
  private readonly archive: ZipArchive;
  private readonly prefix: string;

  private constructor(path: string, archive: ZipArchive, prefix: string, root: unknown) {
    this.path = path;
    this.archive = archive;
    this.prefix = prefix;
    this.root = root;
  }

  static async open(path: string): Promise<TorchCheckpoint> {
    const archive = await ZipArchive.open(path);
    try {
      const pickleName = [...archive.entries.keys()].find((name) => name === 'data.pkl' || name.endsWith('/data.pkl'));
      if (pickleName === undefined) {
        throw new FacetError('SAE_FILE_INVALID', `${path} is a ZIP archive but has no data.pkl, so it is not a torch.save checkpoint. Give the .pth file written by torch.save.`, { file: path });
      }
      const prefix = pickleName.slice(0, pickleName.length - 'data.pkl'.length);
      const byteorder = archive.entries.has(`${prefix}byteorder`) ? (await archive.read(`${prefix}byteorder`)).toString('latin1').trim() : 'little';
      if (byteorder !== 'little') throw new FacetError('SAE_FILE_INVALID', `${path} was saved on a big-endian machine; Facet reads little-endian checkpoints. Re-save it on x86 or ARM.`, { file: path });
      const root = unpickle(await archive.read(pickleName), path, {
        persistentLoad(pid) {
          if (!Array.isArray(pid) || pid[0] !== 'storage') throw new FacetError('SAE_FILE_INVALID', `${path}: unknown persistent id ${JSON.stringify(pid)} in data.pkl.`, { file: path });
          const [, type, key, , numel] = pid as [string, PickleGlobal, string, string, number];
          const name = isPickleGlobal(type) ? type.name : String(type);
          return { kind: 'storage', key: String(key), dtype: STORAGE_DTYPES[name] ?? name, numel: Number(numel) } satisfies TorchStorageRef;
        },
        construct(type, args) {
          if (type.module === 'torch._utils' && (type.name === '_rebuild_tensor_v2' || type.name === '_rebuild_tensor')) {
            const [storage, offset, shape, stride] = args as [TorchStorageRef, number, number[], number[]];
            return { kind: 'tensor', storage, offset: Number(offset), shape: shape.map(Number), stride: stride.map(Number) } satisfies TorchTensorRef;
          }
          // A saved nn.Parameter wraps its tensor.
          if (type.module === 'torch._utils' && type.name === '_rebuild_parameter') return args[0];
          return undefined;
        },
      });
      return new TorchCheckpoint(path, archive, prefix, root);
    } catch (error) {
      await archive.close();
      throw error;
    }
  }

  /** Reads a tensor as float32 `[shape]` row-major (gathering strided views). */
  async readTensor(tensor: TorchTensorRef, name: string): Promise<Float32Array> {
    const dtype = tensor.storage.dtype;
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16' && dtype !== 'F64') {
      throw new FacetError('SAE_FILE_INVALID', `${this.path}: tensor '${name}' is stored as ${dtype}; Facet reads float32, float16, bfloat16 and float64 weights.`, { file: this.path, tensor: name });
    }
    const entryName = `${this.prefix}data/${tensor.storage.key}`;
    const entry = this.archive.entries.get(entryName);
    if (entry === undefined) throw new FacetError('SAE_FILE_INVALID', `${this.path}: storage '${entryName}' of tensor '${name}' is missing from the archive (damaged file). Save the checkpoint again.`, { file: this.path, tensor: name });
    const item = ITEM_SIZE[dtype] as number;
    if (entry.size < tensor.storage.numel * item) {
      throw new FacetError('SAE_FILE_INVALID', `${this.path}: storage of tensor '${name}' holds ${entry.size} bytes but needs ${tensor.storage.numel * item}. The file is damaged; save it again.`, { file: this.path, tensor: name });
    }
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    const contiguous = tensor.stride.every((s, i) => tensor.shape[i] === 1 || s === tensor.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const storage =
      entry.method === 0
        ? await readRawTensor(this.path, (await this.archive.dataOffset(entry)) + (contiguous ? tensor.offset * item : 0), (contiguous ? count : tensor.storage.numel) * item, dtype)
        : await this.inflated(entryName, dtype);
    if (contiguous) return entry.method === 0 ? storage : storage.slice(tensor.offset, tensor.offset + count);
    const out = new Float32Array(count);
    const index = new Array<number>(tensor.shape.length).fill(0);
    for (let flat = 0; flat < count; flat++) {
      let source = tensor.offset;
      for (let d = 0; d < index.length; d++) source += (index[d] as number) * (tensor.stride[d] as number);
      out[flat] = storage[source] as number;
      for (let d = index.length - 1; d >= 0; d--) {
        index[d] = (index[d] as number) + 1;
        if ((index[d] as number) < (tensor.shape[d] as number)) break;
        index[d] = 0;
      }
    }
    return out;
  }

  /**
   * Reads a small contiguous tensor of any dtype Facet knows (int32/int64 buffers such as a
   * saved `k`, or a float scalar) as plain numbers.
   */
  async readNumbers(tensor: TorchTensorRef, name: string): Promise<number[]> {
    const dtype = tensor.storage.dtype;
    if (dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64') return Array.from(await this.readTensor(tensor, name));
    const item = ITEM_SIZE[dtype];
    const entryName = `${this.prefix}data/${tensor.storage.key}`;
    if (item === undefined || !this.archive.entries.has(entryName)) {
      throw new FacetError('SAE_FILE_INVALID', `${this.path}: tensor '${name}' is stored as ${dtype}, which Facet does not read, or its storage is missing. Save the checkpoint again with torch.save.`, { file: this.path, tensor: name });
    }
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    const bytes = await this.archive.read(entryName);
    if (bytes.length < (tensor.offset + count) * item) throw new FacetError('SAE_FILE_INVALID', `${this.path}: storage of tensor '${name}' is shorter than its shape needs. The file is damaged; save it again.`, { file: this.path, tensor: name });
    return Array.from({ length: count }, (_, i) => {
      const at = (tensor.offset + i) * item;
      if (dtype === 'I64') return Number(bytes.readBigInt64LE(at));
      if (dtype === 'I32') return bytes.readInt32LE(at);
      return bytes.readUInt8(at);
    });
  }

  private async inflated(entryName: string, dtype: SafetensorsDtype): Promise<Float32Array> {
    const bytes = await this.archive.read(entryName);
    if (dtype === 'BF16') {
      const widened = new Uint32Array(bytes.length / 2);
      for (let i = 0; i < widened.length; i++) widened[i] = bytes.readUInt16LE(i * 2) << 16;
      return new Float32Array(widened.buffer);
    }
    return npyBytesToFloat32(bytes, dtype === 'F32' ? 'float32' : dtype === 'F16' ? 'float16' : 'float64');
  }

  async close(): Promise<void> {
    await this.archive.close();
  }
}
