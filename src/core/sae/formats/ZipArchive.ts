import { open, type FileHandle } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { FacetError } from '../../../shared/FacetError.ts';

/**
 * Read-only ZIP archive (PKWARE APPNOTE): end-of-central-directory record (ZIP64 when present),
 * central directory, local headers. Stored entries can be read at any offset (PyTorch writes
 * tensors stored, 64-byte aligned); deflated entries are inflated whole with node:zlib.
 */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export class ZipArchive {
  readonly path: string;
  readonly entries: Map<string, ZipEntry>;
  private readonly file: FileHandle;
  private readonly size: number;

  private constructor(path: string, file: FileHandle, size: number, entries: Map<string, ZipEntry>) {
    this.path = path;
    this.file = file;
    this.size = size;
    this.entries = entries;
  }

  /** Opens and indexes the archive; throws `SAE_FILE_INVALID` when it is not a ZIP. */
  static async open(path: string, notZipFix = 'Give a file saved by torch.save (PyTorch ≥ 1.6 writes a ZIP archive).'): Promise<ZipArchive> {
    let file: FileHandle;
    try {
      file = await open(path, 'r');
    } catch (error) {
      throw new FacetError('SAE_FILE_INVALID', `Cannot open ${path}: ${(error as Error).message}. Check the path.`, { file: path }, { cause: error });
    }
    try {
      const { size } = await file.stat();
      const tailLength = Math.min(size, 65_557);
      const tail = Buffer.alloc(tailLength);
      await file.read(tail, 0, tailLength, size - tailLength);
      let eocd = -1;
      for (let i = tailLength - 22; i >= 0; i--) {
        if (tail.readUInt32LE(i) === EOCD) {
          eocd = i;
          break;
        }
      }
      if (eocd < 0) {
        const head = Buffer.alloc(Math.min(4, size));
        await file.read(head, 0, head.length, 0);
        const legacy = head[0] === 0x80 ? ' It looks like a legacy (pre-1.6) pickle, which Facet does not read; re-save it with a current torch.save.' : '';
        throw new FacetError('SAE_FILE_INVALID', `${path} is not a ZIP archive (no end-of-central-directory record).${legacy} ${notZipFix}`, { file: path });
      }
      let count = tail.readUInt16LE(eocd + 10);
      let directorySize = tail.readUInt32LE(eocd + 12);
      let directoryOffset = tail.readUInt32LE(eocd + 16);
      if (eocd >= 20 && tail.readUInt32LE(eocd - 20) === EOCD64_LOCATOR) {
        const eocd64Offset = Number(tail.readBigUInt64LE(eocd - 20 + 8));
        const record = Buffer.alloc(56);
        await file.read(record, 0, 56, eocd64Offset);
        if (record.readUInt32LE(0) !== EOCD64) throw new FacetError('SAE_FILE_INVALID', `${path}: the ZIP64 end record is damaged. Save the checkpoint again.`, { file: path });
        count = Number(record.readBigUInt64LE(32));
        directorySize = Number(record.readBigUInt64LE(40));
        directoryOffset = Number(record.readBigUInt64LE(48));
      }
      if (directoryOffset + directorySize > size) throw new FacetError('SAE_FILE_INVALID', `${path}: the ZIP central directory lies beyond the end of the file (truncated download?). Download it again.`, { file: path });
      const directory = Buffer.alloc(directorySize);
      await file.read(directory, 0, directorySize, directoryOffset);
      const entries = new Map<string, ZipEntry>();
      let p = 0;
      for (let i = 0; i < count; i++) {
        if (p + 46 > directory.length || directory.readUInt32LE(p) !== CENTRAL) throw new FacetError('SAE_FILE_INVALID', `${path}: ZIP central directory entry ${i} is damaged. Save the checkpoint again.`, { file: path });
        const method = directory.readUInt16LE(p + 10);
        let compressedSize = directory.readUInt32LE(p + 20);
        let entrySize = directory.readUInt32LE(p + 24);
        const nameLength = directory.readUInt16LE(p + 28);
        const extraLength = directory.readUInt16LE(p + 30);
        const commentLength = directory.readUInt16LE(p + 32);
        let localHeaderOffset = directory.readUInt32LE(p + 42);
        const name = directory.subarray(p + 46, p + 46 + nameLength).toString('utf8');
        // ZIP64 extra field (id 1): 64-bit values for each field saturated at 0xffffffff.
        let q = p + 46 + nameLength;
        const extraEnd = q + extraLength;
        while (q + 4 <= extraEnd) {
          const id = directory.readUInt16LE(q);
          const length = directory.readUInt16LE(q + 2);
          if (id === 1) {
            let r = q + 4;
            if (entrySize === 0xffffffff) {
              entrySize = Number(directory.readBigUInt64LE(r));
              r += 8;
            }
            if (compressedSize === 0xffffffff) {
              compressedSize = Number(directory.readBigUInt64LE(r));
              r += 8;
            }
            if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(directory.readBigUInt64LE(r));
          }
          q += 4 + length;
        }
        entries.set(name, { name, method, compressedSize, size: entrySize, localHeaderOffset });
        p = extraEnd + commentLength;
      }
      return new ZipArchive(path, file, size, entries);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** Absolute file offset of a stored entry's data (after its local header). */
  async dataOffset(entry: ZipEntry): Promise<number> {
    const local = Buffer.alloc(30);
    await this.file.read(local, 0, 30, entry.localHeaderOffset);
    if (local.readUInt32LE(0) !== LOCAL) throw new FacetError('SAE_FILE_INVALID', `${this.path}: the local header of '${entry.name}' is damaged. Save the checkpoint again.`, { file: this.path, entry: entry.name });
    const offset = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    if (offset + entry.compressedSize > this.size) {
      throw new FacetError('SAE_FILE_INVALID', `${this.path}: entry '${entry.name}' ends beyond the end of the file (truncated). Download it again.`, { file: this.path, entry: entry.name });
    }
    return offset;
  }

  /** Reads a whole entry (stored or deflated) into memory. */
  async read(name: string): Promise<Buffer> {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new FacetError('SAE_FILE_INVALID', `${this.path} has no entry '${name}'.`, { file: this.path, entry: name });
    const offset = await this.dataOffset(entry);
    const raw = Buffer.alloc(entry.compressedSize);
    let done = 0;
    while (done < raw.length) {
      const { bytesRead } = await this.file.read(raw, done, raw.length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (entry.method === 0) return raw;
    if (entry.method === 8) {
      try {
        return inflateRawSync(raw);
      } catch (error) {
        throw new FacetError('SAE_FILE_INVALID', `${this.path}: entry '${name}' does not inflate (${(error as Error).message}). Save the checkpoint again.`, { file: this.path, entry: name });
      }
    }
    throw new FacetError('SAE_FILE_INVALID', `${this.path}: entry '${name}' uses ZIP compression method ${entry.method}; Facet reads stored and deflate entries. Re-save with torch.save.`, { file: this.path, entry: name });
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
