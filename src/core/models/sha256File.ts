import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { throwIfAborted } from '../../shared/FacetError.ts';

/** SHA-256 of a file as hex, streamed in 4 MiB chunks (a model of many GB never sits in memory). */
export async function sha256File(path: string, options: { signal?: AbortSignal; onProgress?: (doneBytes: number) => void } = {}): Promise<string> {
  const hash = createHash('sha256');
  let done = 0;
  const stream = createReadStream(path, { highWaterMark: 4 << 20 });
  try {
    for await (const chunk of stream) {
      throwIfAborted(options.signal);
      hash.update(chunk as Buffer);
      done += (chunk as Buffer).length;
      options.onProgress?.(done);
    }
  } finally {
    stream.destroy();
  }
  return hash.digest('hex');
}
