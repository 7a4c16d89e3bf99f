import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { floatBitsToBf16, floatToHalf, readSafetensorsHeader, readSafetensorsRows, readSafetensorsTensor, writeSafetensors } from '../../src/core/sae/formats/SafetensorsFile.ts';
import { writeSafetensorsFixture } from './saeFileWriters.ts';

const dir = mkdtempSync(join(tmpdir(), 'facet-safetensors-'));

describe('SafetensorsFile', () => {
  it('reads row ranges of a [rows, width] tensor at any offset', async () => {
    const path = join(dir, 'rows.safetensors');
    const values = Float32Array.from({ length: 7 * 3 }, (_, i) => i);
    writeSafetensorsFixture(path, { other: { shape: [2], values: [9, 9] }, activations: { shape: [7, 3], values } });
    const header = await readSafetensorsHeader(path);
    expect(Array.from(await readSafetensorsRows(header, 'activations', 2, 3))).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(Array.from(await readSafetensorsRows(header, 'activations', 6, 10))).toEqual([18, 19, 20]);
  });

  it('writes f16/bf16 with the standard bit patterns and reads them back', async () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(2 ** -24)).toBe(0x0001);
    const bits = new Uint32Array(Float32Array.from([1, -0.15625]).buffer);
    expect(floatBitsToBf16(bits[0] as number)).toBe(0x3f80);
    expect(floatBitsToBf16(bits[1] as number)).toBe(0xbe20);
    const path = join(dir, 'half.safetensors');
    await writeSafetensors(path, { a: { dtype: 'F16', shape: [3], data: Float32Array.from([1, -2, 0.5]) }, b: { dtype: 'BF16', shape: [2], data: Float32Array.from([1, -0.15625]) } });
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    expect(bytes.readUInt16LE(8 + headerLength)).toBe(0x3c00);
    const header = await readSafetensorsHeader(path);
    expect(Array.from(await readSafetensorsTensor(header, 'a'))).toEqual([1, -2, 0.5]);
    expect(Array.from(await readSafetensorsTensor(header, 'b'))).toEqual([1, -0.15625]);
  });

  it('refuses unsupported dtypes and offsets that disagree with the shape', async () => {
    const path = join(dir, 'bad.safetensors');
    const json = Buffer.from(JSON.stringify({ t: { dtype: 'I8', shape: [2], data_offsets: [0, 2] } }));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(path, Buffer.concat([length, json, Buffer.alloc(2)]));
    await expect(readSafetensorsHeader(path)).rejects.toMatchObject({ code: 'SAE_FILE_INVALID', message: expect.stringMatching(/dtype I8/) });
    const json2 = Buffer.from(JSON.stringify({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }));
    length.writeBigUInt64LE(BigInt(json2.length));
    writeFileSync(path, Buffer.concat([length, json2, Buffer.alloc(8)]));
    await expect(readSafetensorsHeader(path)).rejects.toMatchObject({ code: 'SAE_FILE_INVALID', message: expect.stringMatching(/spans 8 bytes/) });
  });
});
