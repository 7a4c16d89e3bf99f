import { stat } from 'node:fs/promises';

/** What is at `path`: a file, a directory, or nothing (or something else). */
export async function pathKind(path: string): Promise<'file' | 'directory' | 'missing'> {
  try {
    const info = await stat(path);
    return info.isFile() ? 'file' : info.isDirectory() ? 'directory' : 'missing';
  } catch {
    return 'missing';
  }
}
