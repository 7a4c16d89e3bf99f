import { open, rm, type FileHandle } from 'node:fs/promises';
import { NpyWriter } from '../arrays/NpyFile.ts';
import { FacetError } from '../../shared/FacetError.ts';

export type ActivationFileFormat = 'npy' | 'safetensors';

/**
 * Streams a float32 `[rows, columns]` matrix to disk in row chunks: NumPy `.npy`, or safetensors
 * with one tensor named `activations` (the row count must be known up front: the header comes first).
 */
export class ActivationFileWriter {
  readonly path: string;
  readonly format: ActivationFileFormat;
  private readonly columns: number;
  private readonly expectedRows: number;
  private npy: NpyWriter | undefined;
  private file: FileHandle | undefined;
  private position = 0;
  private rowsWritten = 0;

  private constructor(path: string, format: ActivationFileFormat, rows: number, columns: number) {
    this.path = path;
    this.format = format;
    this.expectedRows = rows;
    this.columns = columns;
  }

  static async create(path: string, format: ActivationFileFormat, rows: number, columns: number, metadata: Record<string, string> = {}): Promise<ActivationFileWriter> {
    const writer = new ActivationFileWriter(path, format, rows, columns);
    try {
      if (format === 'npy') {
        writer.npy = await NpyWriter.create(path, [columns]);
      } else {
        const header = {
          __metadata__: metadata,
          activations: { dtype: 'F32', shape: [rows, columns], data_offsets: [0, rows * columns * 4] },
        };
        let json = JSON.stringify(header);
        json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // data starts 8-byte aligned
        const length = Buffer.alloc(8);
        length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
        writer.file = await open(path, 'w');
        const head = Buffer.concat([length, Buffer.from(json)]);
        await writer.file.write(head, 0, head.length, 0);
        writer.position = head.length;
      }
    } catch (error) {
      if (error instanceof FacetError) throw error;
      throw new FacetError('INVALID_ARGUMENT', `Cannot write ${path}: ${(error as Error).message}. Check the folder exists and is writable.`, { path }, { cause: error });
    }
    return writer;
  }

  /** Appends whole rows (row-major). */
  async append(rows: Float32Array): Promise<void> {
    if (rows.length % this.columns !== 0) throw new FacetError('INTERNAL', `${rows.length} values are not whole rows of ${this.columns}.`);
    this.rowsWritten += rows.length / this.columns;
    if (this.npy !== undefined) {
      await this.npy.append(rows);
      return;
    }
    const bytes = Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.file!.write(bytes, done, bytes.length - done, this.position + done);
      done += bytesWritten;
    }
    this.position += bytes.length;
  }

  /** Closes and removes a file whose writing failed or was cancelled: no partial output is left. */
  async discard(): Promise<void> {
    await this.npy?.close().catch(() => undefined);
    await this.file?.close().catch(() => undefined);
    this.npy = undefined;
    this.file = undefined;
    await rm(this.path, { force: true });
  }

  async close(): Promise<void> {
    await this.npy?.close();
    await this.file?.close();
    this.npy = undefined;
    this.file = undefined;
    if (this.rowsWritten !== this.expectedRows) {
      throw new FacetError('INTERNAL', `${this.path}: wrote ${this.rowsWritten} rows, expected ${this.expectedRows}.`);
    }
  }
}
