import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

/**
 * Test-side writers for the formats Facet reads, written from the format descriptions and
 * independent of the readers under test: safetensors, a ZIP archive, and a protocol-2 pickle
 * of a torch state dict as `torch.save` lays it out.
 */

export type FixtureDtype = 'F32' | 'F16' | 'BF16';

export interface FixtureTensor {
  dtype?: FixtureDtype;
  shape: number[];
  values: ArrayLike<number>;
}

/** Exact binary16 bits of a value that binary16 represents exactly (tests use k/64 values). */
function halfBits(value: number): number {
  if (value === 0) return Object.is(value, -0) ? 0x8000 : 0;
  const sign = value < 0 ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  const exponent = Math.floor(Math.log2(magnitude));
  const mantissa = (magnitude / 2 ** exponent - 1) * 1024;
  if (!Number.isInteger(mantissa) || exponent < -14 || exponent > 15) throw new Error(`${value} is not exact in float16`);
  return sign | ((exponent + 15) << 10) | mantissa;
}

function encode(values: ArrayLike<number>, dtype: FixtureDtype): Buffer {
  const count = values.length;
  if (dtype === 'F32') {
    const out = Buffer.alloc(count * 4);
    for (let i = 0; i < count; i++) out.writeFloatLE(values[i] as number, i * 4);
    return out;
  }
  const out = Buffer.alloc(count * 2);
  const scratch = Buffer.alloc(4);
  for (let i = 0; i < count; i++) {
    if (dtype === 'BF16') {
      scratch.writeFloatLE(values[i] as number, 0);
      if ((scratch.readUInt32LE(0) & 0xffff) !== 0) throw new Error(`${values[i]} is not exact in bfloat16`);
      out.writeUInt16LE(scratch.readUInt32LE(0) >>> 16, i * 2);
    } else {
      out.writeUInt16LE(halfBits(values[i] as number), i * 2);
    }
  }
  return out;
}

export function writeSafetensorsFixture(path: string, tensors: Record<string, FixtureTensor>): void {
  mkdirSync(dirname(path), { recursive: true });
  const header: Record<string, unknown> = { __metadata__: { writer: 'facet-test' } };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    const bytes = encode(tensor.values, tensor.dtype ?? 'F32');
    header[name] = { dtype: tensor.dtype ?? 'F32', shape: tensor.shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    chunks.push(bytes);
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([length, json, ...chunks]));
}

/**
 * A ZIP archive of the given entries (stored, or deflated when `deflate`). `zip64` writes the
 * ZIP64 forms (saturated 32-bit fields, ZIP64 extra fields, end record and locator) that large
 * checkpoints carry.
 */
export function zipBytes(entries: Array<{ name: string; data: Buffer }>, deflate = false, zip64 = false): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const body = deflate ? deflateRawSync(entry.data) : entry.data;
    const crc = crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    // A padding extra field, as torch uses to align tensor data to 64 bytes.
    const padLength = (64 - ((offset + 30 + name.length + 4) % 64)) % 64;
    const extra = Buffer.alloc(4 + padLength);
    extra.writeUInt16LE(0x4b46, 0);
    extra.writeUInt16LE(padLength, 2);
    local.writeUInt16LE(extra.length, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(45, 4);
    central.writeUInt16LE(45, 6);
    central.writeUInt16LE(deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(zip64 ? 0xffffffff : body.length, 20);
    central.writeUInt32LE(zip64 ? 0xffffffff : entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    let centralExtra = Buffer.alloc(0);
    if (zip64) {
      // ZIP64 extra field: uncompressed size, compressed size, local header offset.
      centralExtra = Buffer.alloc(28);
      centralExtra.writeUInt16LE(0x0001, 0);
      centralExtra.writeUInt16LE(24, 2);
      centralExtra.writeBigUInt64LE(BigInt(entry.data.length), 4);
      centralExtra.writeBigUInt64LE(BigInt(body.length), 12);
      centralExtra.writeBigUInt64LE(BigInt(offset), 20);
      central.writeUInt16LE(centralExtra.length, 30);
    }
    locals.push(local, name, extra, body);
    centrals.push(central, name, centralExtra);
    offset += 30 + name.length + extra.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(0xffff, 8);
    end.writeUInt16LE(0xffff, 10);
    end.writeUInt32LE(0xffffffff, 12);
    end.writeUInt32LE(0xffffffff, 16);
    return Buffer.concat([...locals, directory, record, locator, end]);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Builds protocol-2 pickle bytes with the opcodes torch.save emits. */
class PickleWriter {
  private readonly parts: Buffer[] = [Buffer.from([0x80, 0x02])];
  private memo = 0;
  op(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  put(): this {
    return this.op(0x71, this.memo++ & 0xff);
  }
  str(value: string): this {
    const bytes = Buffer.from(value, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.length);
    this.parts.push(Buffer.from('X'), length, bytes);
    return this.put();
  }
  int(value: number): this {
    if (value >= 0 && value < 256) return this.op(0x4b, value);
    if (value >= 0 && value < 65536) return this.op(0x4d, value & 0xff, value >> 8);
    const bytes = Buffer.alloc(5);
    bytes[0] = 0x4a;
    bytes.writeInt32LE(value, 1);
    this.parts.push(bytes);
    return this;
  }
  global(module: string, name: string): this {
    this.parts.push(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
    return this.put();
  }
  tuple(items: Array<() => void>): this {
    this.op(0x28);
    for (const item of items) item();
    return this.op(0x74);
  }
  bytes(): Buffer {
    return Buffer.concat([...this.parts, Buffer.from('.')]);
  }
}

export interface TorchFixtureTensor {
  shape: number[];
  values: ArrayLike<number>;
  /** Saves the tensor as a transposed view of a [shape[1], shape[0]] storage (2-D only). */
  transposedView?: boolean;
}

/**
 * Writes `torch.save({"weight": OrderedDict(state), "config": config})` (or the bare state dict
 * when `config` is null) as torch lays it out: `<prefix>/data.pkl`, `<prefix>/data/<key>`,
 * `<prefix>/byteorder`, `<prefix>/version`.
 */
export function writeTorchCheckpoint(path: string, state: Record<string, TorchFixtureTensor>, config: Record<string, number> | null, options: { prefix?: string; deflate?: boolean; zip64?: boolean } = {}): void {
  const prefix = options.prefix ?? 'archive';
  const pickle = new PickleWriter();
  const storages: Array<{ name: string; data: Buffer }> = [];
  const writeStateDict = (): void => {
    pickle.global('collections', 'OrderedDict').op(0x29, 0x52).put().op(0x28);
    Object.entries(state).forEach(([name, tensor], key) => {
      const numel = tensor.shape.reduce((a, b) => a * b, 1);
      let data = Float32Array.from(tensor.values);
      let stride = tensor.shape.map((_, i) => tensor.shape.slice(i + 1).reduce((a, b) => a * b, 1));
      if (tensor.transposedView === true) {
        const [rows, cols] = tensor.shape as [number, number];
        const stored = new Float32Array(numel);
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) stored[c * rows + r] = data[r * cols + c] as number;
        data = stored;
        stride = [1, rows];
      }
      storages.push({ name: `${prefix}/data/${key}`, data: Buffer.from(data.buffer) });
      pickle.str(name).global('torch._utils', '_rebuild_tensor_v2');
      pickle.tuple([
        () => {
          pickle.tuple([() => pickle.str('storage').global('torch', 'FloatStorage').str(String(key)).str('cpu').int(numel)]).op(0x51).put();
          pickle.int(0);
          pickle.tuple([() => tensor.shape.forEach((d) => pickle.int(d))]).put();
          pickle.tuple([() => stride.forEach((s) => pickle.int(s))]).put();
          pickle.op(0x89);
          pickle.global('collections', 'OrderedDict').op(0x29, 0x52).put();
        },
      ]);
      pickle.op(0x52).put();
    });
    pickle.op(0x75);
  };
  if (config === null) {
    writeStateDict();
  } else {
    pickle.op(0x7d).put().op(0x28);
    pickle.str('weight');
    writeStateDict();
    pickle.str('config').op(0x7d).put().op(0x28);
    for (const [name, value] of Object.entries(config)) pickle.str(name).int(value);
    pickle.op(0x75);
    pickle.op(0x75);
  }
  const entries = [
    { name: `${prefix}/data.pkl`, data: pickle.bytes() },
    { name: `${prefix}/byteorder`, data: Buffer.from('little') },
    ...storages,
    { name: `${prefix}/version`, data: Buffer.from('3\n') },
  ];
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, zipBytes(entries, options.deflate ?? false, options.zip64 ?? false));
}
