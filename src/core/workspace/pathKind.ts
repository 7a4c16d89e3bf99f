import { stat } from 'node:fs/promises';

/** What a path names: a regular file, a folder, something else (device, FIFO, socket) or nothing. */
export type PathKind = 'file' | 'directory' | 'special' | 'missing';

/**
 * Classifies a path without opening it (opening a FIFO blocks until a writer appears; reading
 * /dev/zero never ends), so callers can refuse anything but a regular file up front.
 */
export async function pathKind(path: string): Promise<PathKind> {
  try {
    const info = await stat(path);
    if (info.isFile()) return 'file';
    if (info.isDirectory()) return 'directory';
    return 'special';
  } catch {
    return 'missing';
  }
}

/** How a special file is named in messages. */
export async function specialFileDescription(path: string): Promise<string> {
  try {
    const info = await stat(path);
    if (info.isFIFO()) return 'a named pipe (FIFO)';
    if (info.isCharacterDevice()) return 'a character device';
    if (info.isBlockDevice()) return 'a block device';
    if (info.isSocket()) return 'a socket';
  } catch {
    // fall through
  }
  return 'not a regular file';
}
