import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** sha256 (hex) over the files' bytes, in order, streamed in 4 MiB chunks. */
export async function hashFiles(paths: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) {
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(path, { highWaterMark: 4 * 1024 * 1024 });
      stream.on('data', (chunk) => hash.update(chunk));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
  }
  return hash.digest('hex');
}
