import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../src/core/gguf/Float16.ts';
import { readGgufHeader, readTensorAsFloat32 } from '../../src/core/gguf/GgufReader.ts';
import type { GgufValue } from '../../src/core/gguf/GgufValue.ts';
import { writeGguf } from '../../src/core/gguf/GgufWriter.ts';

const dir = mkdtempSync(join(tmpdir(), 'facet-gguf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const metadata: [string, GgufValue][] = [
  ['general.architecture', { type: 'string', value: 'llama' }],
  ['general.alignment', { type: 'uint32', value: 64 }],
  ['t.u8', { type: 'uint8', value: 255 }],
  ['t.i8', { type: 'int8', value: -128 }],
  ['t.u16', { type: 'uint16', value: 65535 }],
  ['t.i16', { type: 'int16', value: -32768 }],
  ['t.u32', { type: 'uint32', value: 4294967295 }],
  ['t.i32', { type: 'int32', value: -2147483648 }],
  ['t.f32', { type: 'float32', value: 0.5 }],
  ['t.f64', { type: 'float64', value: Math.PI }],
  ['t.u64', { type: 'uint64', value: 18446744073709551615n }],
  ['t.i64', { type: 'int64', value: -9223372036854775808n }],
  ['t.bool', { type: 'bool', value: true }],
  ['t.str', { type: 'string', value: 'héllo ✓ <|im_start|>' }],
  ['t.empty', { type: 'string', value: '' }],
  ['a.str', { type: 'array', elementType: 'string', value: ['a', '', 'Ġ Ġ', '日本'] }],
  ['a.i32', { type: 'array', elementType: 'int32', value: [1, -2, 3] }],
  ['a.f32', { type: 'array', elementType: 'float32', value: [0.25, -1.5] }],
  ['a.u64', { type: 'array', elementType: 'uint64', value: [1n, 2n ** 40n] }],
  ['a.bool', { type: 'array', elementType: 'bool', value: [true, false] }],
  ['a.u8', { type: 'array', elementType: 'uint8', value: [] }],
];

const a = Float32Array.from({ length: 3 * 5 }, (_, i) => i - 7.25);
const b = Float32Array.from({ length: 7 }, (_, i) => i / 3);
const c = Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => 1 / (i + 1));

async function writeSample(name: string): Promise<string> {
  const path = join(dir, name);
  await writeGguf(path, {
    metadata,
    tensors: [
      { name: 'a', dims: [5, 3], type: 'F32', data: a },
      { name: 'b', dims: [7], type: 'F16', data: () => b },
      { name: 'c', dims: [3, 2, 2], type: 'F32', data: c },
    ],
  });
  return path;
}

describe('GGUF writer and reader', () => {
  it('round-trips metadata of every type, tensors and alignment', async () => {
    const path = await writeSample('sample.gguf');
    const header = await readGgufHeader(path);
    expect(header.version).toBe(3);
    expect(header.alignment).toBe(64);
    expect([...header.metadata.keys()]).toEqual(metadata.map(([key]) => key));
    for (const [key, value] of metadata) expect(header.metadata.get(key), key).toEqual(value.type === 'float32' ? { ...value, value: Math.fround(value.value as number) } : value);
    expect(header.tensors.map((t) => [t.name, t.dims, t.type.name, t.byteSize])).toEqual([
      ['a', [5, 3], 'F32', 60],
      ['b', [7], 'F16', 14],
      ['c', [3, 2, 2], 'F32', 48],
    ]);
    expect(header.dataOffset % 64).toBe(0);
    for (const tensor of header.tensors) expect((tensor.fileOffset - header.dataOffset) % 64).toBe(0);
    // The file ends right after the last tensor, padded to the alignment.
    const last = header.tensors.at(-1)!;
    expect(header.fileSize).toBe(last.fileOffset + 64);
    expect(await readTensorAsFloat32(header, 'a')).toEqual(a);
    expect(await readTensorAsFloat32(header, 'c')).toEqual(c);
    const halves = await readTensorAsFloat32(header, 'b');
    for (let i = 0; i < b.length; i++) expect(Math.abs(halves[i]! - b[i]!)).toBeLessThanOrEqual(Math.abs(b[i]!) * 2 ** -11);
  });

  it('reads the header of a multi-GiB file without reading its tensor data', async () => {
    const path = join(dir, 'huge.gguf');
    await writeGguf(path, { metadata: [['general.architecture', { type: 'string', value: 'llama' }]], tensors: [{ name: 'huge_tensor', dims: [16], type: 'F32', data: new Float32Array(16) }] });
    const { dataOffset } = await readGgufHeader(path);
    const bytes = readFileSync(path);
    // Patch the tensor's one dimension to 2^30 floats (4 GiB) and extend the file sparsely to match.
    const dimsAt = bytes.indexOf('huge_tensor') + 'huge_tensor'.length + 4;
    bytes.writeBigUInt64LE(2n ** 30n, dimsAt);
    writeFileSync(path, bytes);
    await expect(readGgufHeader(path)).rejects.toMatchObject({ code: 'GGUF_TRUNCATED', details: { offset: dataOffset } });
    truncateSync(path, dataOffset + 4 * 2 ** 30);
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    const header = await readGgufHeader(path);
    expect(header.tensors[0]).toMatchObject({ name: 'huge_tensor', elementCount: 2 ** 30, byteSize: 4 * 2 ** 30, fileOffset: dataOffset });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 2 ** 20);
    rmSync(path);
  });

  it('writes the same bytes for the same spec', async () => {
    const first = readFileSync(await writeSample('one.gguf'));
    const second = readFileSync(await writeSample('two.gguf'));
    expect(first.equals(second)).toBe(true);
    expect(first.subarray(0, 4).toString('latin1')).toBe('GGUF');
    expect(first.readUInt32LE(4)).toBe(3);
  });

  it('rejects values that do not fit their type', async () => {
    await expect(writeGguf(join(dir, 'bad.gguf'), { metadata: [['x', { type: 'uint8', value: 256 }]], tensors: [] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(writeGguf(join(dir, 'bad.gguf'), { metadata: [], tensors: [{ name: 't', dims: [4], type: 'F32', data: new Float32Array(3) }] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('converts float16 with round-to-nearest-even, subnormals and overflow', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie goes to even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    for (let bits = 0; bits < 0x7c00; bits += 37) expect(float32ToFloat16Bits(float16BitsToFloat32(bits))).toBe(bits);
  });
});

describe('GGUF reader errors', () => {
  it('names a file that is not a GGUF', async () => {
    const path = join(dir, 'notes.gguf');
    writeFileSync(path, 'this is a text file, not a model\n');
    const error = await readGgufHeader(path).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'GGUF_INVALID' });
    expect((error as Error).message).toContain('notes.gguf');
    expect((error as Error).message).toContain('byte offset 0');
  });

  it('reports an empty file and a missing file', async () => {
    const empty = join(dir, 'empty.gguf');
    writeFileSync(empty, '');
    await expect(readGgufHeader(empty)).rejects.toMatchObject({ code: 'GGUF_INVALID' });
    const short = join(dir, 'short.gguf');
    writeFileSync(short, 'hello');
    await expect(readGgufHeader(short)).rejects.toMatchObject({ code: 'GGUF_INVALID' });
    const cut = join(dir, 'gg.gguf');
    writeFileSync(cut, 'GG');
    await expect(readGgufHeader(cut)).rejects.toMatchObject({ code: 'GGUF_TRUNCATED' });
    await expect(readGgufHeader(join(dir, 'absent.gguf'))).rejects.toMatchObject({ code: 'MODEL_FILE_NOT_FOUND' });
  });

  it('reports a file cut inside the metadata, with the offset', async () => {
    const path = await writeSample('cut-header.gguf');
    truncateSync(path, 200);
    const error = await readGgufHeader(path).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'GGUF_TRUNCATED', details: { fileSize: 200 } });
    expect((error as Error).message).toMatch(/cut-header\.gguf is truncated: .*byte offset \d+/);
  });

  it('reports a file cut inside the tensor data, naming the tensor', async () => {
    const path = await writeSample('cut-data.gguf');
    const header = await readGgufHeader(path);
    truncateSync(path, header.tensors.at(-1)!.fileOffset + 10);
    const error = await readGgufHeader(path).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'GGUF_TRUNCATED' });
    expect((error as Error).message).toContain('tensor c');
    expect((error as Error).message).toContain(`byte offset ${header.tensors.at(-1)!.fileOffset}`);
  });

  it('rejects an unknown version and an unknown value type', async () => {
    const path = await writeSample('version.gguf');
    const bytes = readFileSync(path);
    bytes.writeUInt32LE(9, 4);
    writeFileSync(path, bytes);
    await expect(readGgufHeader(path)).rejects.toMatchObject({ code: 'GGUF_INVALID', details: { offset: 4 } });
    bytes.writeUInt32LE(3, 4);
    // first key: u64 length at 24, then 'general.architecture' (20 bytes), then its type at 52
    bytes.writeUInt32LE(99, 24 + 8 + 20);
    writeFileSync(path, bytes);
    await expect(readGgufHeader(path)).rejects.toMatchObject({ code: 'GGUF_INVALID', details: { offset: 52 } });
  });
});
