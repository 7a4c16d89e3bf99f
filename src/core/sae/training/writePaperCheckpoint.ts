import { open, rename, rm } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { SaeWeights } from '../SaeWeights.ts';

/**
 * Writes a tied TopK SAE as the paper's checkpoint: what `torch.save({"weight": state_dict,
 * "config": {"d_inp", "d_hide", "topK"}}, path)` produces for its TopK SAE, with state dict
 * W_enc [d_inp, d_hide], b_enc [d_hide], b_dec [d_inp] and an all-ones `mask` [d_hide] (float32),
 * so the paper's released code (and `facet sae import`) can load an SAE trained in Facet.
 *
 * Layout (PyTorch's zip serialisation, entries stored uncompressed): `<name>/data.pkl` (pickle
 * protocol 2; tensors are `torch._utils._rebuild_tensor_v2` calls on persistent-id storages),
 * `<name>/byteorder` = `little`, `<name>/data/<i>` raw little-endian storage bytes (64-byte aligned
 * in the file, as torch.save aligns them), `<name>/version` = `3`. The file is written beside
 * `path` and renamed into place. Sizes stay under 4 GiB per entry (no ZIP64): d_in × d_sae < 2^30.
 */
export async function writePaperCheckpoint(path: string, weights: SaeWeights, shape: { dIn: number; dSae: number; k: number }): Promise<void> {
  const { dIn, dSae, k } = shape;
  if (dIn * dSae * 4 >= 2 ** 32) throw new RangeError(`W_enc of ${dIn}×${dSae} floats needs ZIP64, which this writer does not produce.`);
  const mask = new Float32Array(dSae).fill(1);
  const storages: Array<{ name: string; data: Float32Array; shape: number[] }> = [
    { name: 'W_enc', data: weights.wEnc, shape: [dIn, dSae] },
    { name: 'b_enc', data: weights.bEnc, shape: [dSae] },
    { name: 'b_dec', data: weights.bDec, shape: [dIn] },
    { name: 'mask', data: mask, shape: [dSae] },
  ];
  const pickle = new PickleWriter();
  pickle.proto();
  pickle.emptyDict();
  pickle.mark();
  pickle.string('weight');
  pickle.orderedDict(() => {
    storages.forEach((storage, index) => {
      pickle.string(storage.name);
      pickle.tensor(String(index), storage.data.length, storage.shape);
    });
  });
  pickle.string('config');
  pickle.emptyDict();
  pickle.mark();
  for (const [key, value] of [['d_inp', dIn], ['d_hide', dSae], ['topK', k]] as const) {
    pickle.string(key);
    pickle.int(value);
  }
  pickle.setItems();
  pickle.setItems();
  pickle.stop();

  const base = (path.split(/[\\/]/).pop() ?? 'archive').replace(/\.[^.]*$/, '') || 'archive';
  const entries: Array<{ name: string; bytes: Uint8Array }> = [
    { name: `${base}/data.pkl`, bytes: pickle.bytes() },
    { name: `${base}/byteorder`, bytes: new TextEncoder().encode('little') },
    ...storages.map((storage, index) => ({ name: `${base}/data/${index}`, bytes: new Uint8Array(storage.data.buffer, storage.data.byteOffset, storage.data.byteLength) })),
    { name: `${base}/version`, bytes: new TextEncoder().encode('3\n') },
  ];
  const partial = `${path}.partial-${process.pid}`;
  const handle = await open(partial, 'w');
  try {
    let offset = 0;
    const write = async (bytes: Uint8Array) => {
      let done = 0;
      while (done < bytes.byteLength) {
        const { bytesWritten } = await handle.write(bytes, done, Math.min(bytes.byteLength - done, 1 << 30));
        done += bytesWritten;
      }
      offset += bytes.byteLength;
    };
    const central: Uint8Array[] = [];
    for (const entry of entries) {
      const name = new TextEncoder().encode(entry.name);
      const crc = crc32(entry.bytes);
      // Pad with an extra field (id "FB", as torch.save does) so the data starts 64-byte aligned.
      const headerEnd = offset + 30 + name.length;
      const pad = (64 - ((headerEnd + 4) % 64)) % 64;
      const extra = new Uint8Array(4 + pad);
      new DataView(extra.buffer).setUint16(0, 0x4246, true);
      new DataView(extra.buffer).setUint16(2, pad, true);
      const localOffset = offset;
      await write(zipHeader(0x04034b50, { crc, size: entry.bytes.byteLength, name, extra }));
      await write(entry.bytes);
      central.push(zipHeader(0x02014b50, { crc, size: entry.bytes.byteLength, name, extra: new Uint8Array(0), localOffset }));
    }
    const centralStart = offset;
    for (const record of central) await write(record);
    const end = new DataView(new ArrayBuffer(22));
    end.setUint32(0, 0x06054b50, true);
    end.setUint16(8, entries.length, true);
    end.setUint16(10, entries.length, true);
    end.setUint32(12, offset - centralStart, true);
    end.setUint32(16, centralStart, true);
    await write(new Uint8Array(end.buffer));
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(partial, { force: true });
    throw error;
  }
  await handle.close();
  await rename(partial, path);
}

/** A local (0x04034b50) or central (0x02014b50) zip header for a stored entry. */
function zipHeader(signature: number, entry: { crc: number; size: number; name: Uint8Array; extra: Uint8Array; localOffset?: number }): Uint8Array {
  const central = signature === 0x02014b50;
  const fixed = central ? 46 : 30;
  const out = new Uint8Array(fixed + entry.name.length + entry.extra.length);
  const view = new DataView(out.buffer);
  let at = 0;
  const u16 = (value: number) => {
    view.setUint16(at, value, true);
    at += 2;
  };
  const u32 = (value: number) => {
    view.setUint32(at, value >>> 0, true);
    at += 4;
  };
  u32(signature);
  if (central) u16(20); // version made by
  u16(20); // version needed
  u16(0); // flags
  u16(0); // method: stored
  u16(0); // time
  u16(0x21); // date: 1980-01-01
  u32(entry.crc);
  u32(entry.size);
  u32(entry.size);
  u16(entry.name.length);
  u16(entry.extra.length);
  if (central) {
    u16(0); // comment length
    u16(0); // disk number
    u16(0); // internal attributes
    u32(0); // external attributes
    u32(entry.localOffset ?? 0);
  }
  out.set(entry.name, at);
  out.set(entry.extra, at + entry.name.length);
  return out;
}

/** The few pickle protocol-2 opcodes a torch.save state dict needs. */
class PickleWriter {
  private readonly parts: number[] = [];

  proto(): void {
    this.parts.push(0x80, 2);
  }
  mark(): void {
    this.parts.push(0x28); // (
  }
  emptyDict(): void {
    this.parts.push(0x7d); // }
  }
  emptyTuple(): void {
    this.parts.push(0x29); // )
  }
  tuple(): void {
    this.parts.push(0x74); // t (from the last MARK)
  }
  setItems(): void {
    this.parts.push(0x75); // u
  }
  reduce(): void {
    this.parts.push(0x52); // R
  }
  stop(): void {
    this.parts.push(0x2e); // .
  }
  false(): void {
    this.parts.push(0x89); // NEWFALSE
  }
  persistentId(): void {
    this.parts.push(0x51); // BINPERSID
  }
  global(module: string, name: string): void {
    this.parts.push(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`)); // c
  }
  int(value: number): void {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw new RangeError(`pickle int ${value} out of BININT range`);
    this.parts.push(0x4a, value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff); // J
  }
  string(text: string): void {
    const bytes = new TextEncoder().encode(text);
    this.parts.push(0x58, bytes.length & 0xff, (bytes.length >>> 8) & 0xff, (bytes.length >>> 16) & 0xff, (bytes.length >>> 24) & 0xff, ...bytes); // X
  }
  intTuple(values: number[]): void {
    this.mark();
    for (const value of values) this.int(value);
    this.tuple();
  }
  /** collections.OrderedDict() then MARK … SETITEMS around what `items` writes. */
  orderedDict(items: () => void): void {
    this.global('collections', 'OrderedDict');
    this.emptyTuple();
    this.reduce();
    this.mark();
    items();
    this.setItems();
  }
  /** torch._utils._rebuild_tensor_v2(storage, 0, shape, contiguous stride, False, OrderedDict()). */
  tensor(key: string, numel: number, shape: number[]): void {
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.mark();
    this.mark();
    this.string('storage');
    this.global('torch', 'FloatStorage');
    this.string(key);
    this.string('cpu');
    this.int(numel);
    this.tuple();
    this.persistentId();
    this.int(0);
    this.intTuple(shape);
    const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    this.intTuple(stride);
    this.false();
    this.global('collections', 'OrderedDict');
    this.emptyTuple();
    this.reduce();
    this.tuple();
    this.reduce();
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}
