import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NpyReader, NpyWriter, formatNpyHeader, readNpy, writeNpy } from '../../src/core/arrays/NpyFile.ts';

const dir = mkdtempSync(join(tmpdir(), 'facet-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('NpyFile', () => {
  it('writes the exact header numpy writes for a 2x3 float32 array', async () => {
    const path = join(dir, 'a.npy');
    await writeNpy(path, new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const bytes = readFileSync(path);
    // numpy.save(np.arange(1,7,dtype='<f4').reshape(2,3)) starts with this header (128 bytes in all).
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('\x93NUMPY\x01\x00');
    const text = bytes.subarray(10, 128).toString('latin1');
    expect(text.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")).toBe(true);
    expect(text.endsWith('\n')).toBe(true);
    expect(bytes.length).toBe(128 + 24);
    const back = await readNpy(path);
    expect(back.shape).toEqual([2, 3]);
    expect(Array.from(back.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reads float64 and float16 payloads as float32, 1-D shapes with a trailing comma', async () => {
    const path = join(dir, 'b.npy');
    const header = formatNpyHeader('float64', [3]);
    expect(header.toString('latin1')).toContain("'shape': (3,)");
    const data = Buffer.alloc(24);
    [0.5, -2, 1e10].forEach((v, i) => data.writeDoubleLE(v, i * 8));
    writeFileSync(path, Buffer.concat([header, data]));
    expect(Array.from((await readNpy(path)).data)).toEqual([0.5, -2, 1e10].map(Math.fround));

    const half = join(dir, 'h.npy');
    const h = Buffer.alloc(6);
    [0x3c00, 0xc000, 0x3555].forEach((v, i) => h.writeUInt16LE(v, i * 2)); // 1, -2, 0.333251953125
    writeFileSync(half, Buffer.concat([formatNpyHeader('float16', [3]), h]));
    expect(Array.from((await readNpy(half)).data)).toEqual([1, -2, 0.333251953125]);
  });

  it('streams rows out and in, patching the row count at close', async () => {
    const path = join(dir, 'c.npy');
    const writer = await NpyWriter.create(path, [4]);
    await writer.append(new Float32Array([1, 2, 3, 4]));
    await writer.append(new Float32Array([5, 6, 7, 8, 9, 10, 11, 12]));
    await writer.close();
    const reader = await NpyReader.open(path);
    expect(reader.header.shape).toEqual([3, 4]);
    expect(reader.rows).toBe(3);
    expect(Array.from(await reader.readRows(1, 5))).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    await reader.close();
  });

  it('refuses truncated data, Fortran order and foreign dtypes with a message naming the file', async () => {
    const short = join(dir, 'short.npy');
    writeFileSync(short, Buffer.concat([formatNpyHeader('float32', [10, 10]), Buffer.alloc(12)]));
    await expect(readNpy(short)).rejects.toThrow(/short\.npy.*truncated/);
    const fortran = join(dir, 'f.npy');
    const header = formatNpyHeader('float32', [1]).toString('latin1').replace("'fortran_order': False", "'fortran_order': True ");
    writeFileSync(fortran, Buffer.concat([Buffer.from(header, 'latin1'), Buffer.alloc(4)]));
    await expect(readNpy(fortran)).rejects.toThrow(/Fortran order/);
    const other = join(dir, 'u.npy');
    writeFileSync(other, Buffer.concat([Buffer.from(formatNpyHeader('float32', [1]).toString('latin1').replace('<f4', '>f4'), 'latin1'), Buffer.alloc(4)]));
    await expect(readNpy(other)).rejects.toThrow(/dtype '>f4'/);
  });
});
