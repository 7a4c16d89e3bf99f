import { readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { PathCompletion, PathEntry } from '../../shared/registryTypes.ts';

/** Entries listed at most per call: a folder of thousands of files stays quick to answer. */
const maxEntries = 200;

/**
 * Completes a path typed on the engine's machine: the folders and the files with one of
 * `extensions` (case-insensitive, e.g. `.gguf`) in the typed folder whose names start with the
 * typed rest. `~` is the engine's home folder; an empty prefix lists the home folder. Hidden
 * entries show only when the typed rest starts with a dot. Folders come first, then files, each
 * by name. A folder that does not exist or cannot be read gives no entries (not an error: the
 * user is still typing).
 */
export async function completePath(prefix: string, extensions: readonly string[]): Promise<PathCompletion> {
  const typed = prefix === '' || prefix === '~' ? `${homedir()}${sep}` : /^~[\\/]/.test(prefix) ? homedir() + prefix.slice(1) : prefix;
  const endsWithSeparator = /[\\/]$/.test(typed);
  const folder = resolve(endsWithSeparator ? typed : dirname(typed));
  const start = endsWithSeparator ? '' : basename(typed);
  const wanted = extensions.map((extension) => extension.toLowerCase());
  let names: { name: string; isDirectory: boolean; isFile: boolean; isSymbolicLink: boolean }[];
  try {
    names = (await readdir(folder, { withFileTypes: true })).map((entry) => ({ name: entry.name, isDirectory: entry.isDirectory(), isFile: entry.isFile(), isSymbolicLink: entry.isSymbolicLink() }));
  } catch {
    return { folder, entries: [], truncated: false };
  }
  const entries: PathEntry[] = [];
  for (const entry of names) {
    if (!entry.name.startsWith(start)) continue;
    if (entry.name.startsWith('.') && !start.startsWith('.')) continue;
    let isDirectory = entry.isDirectory;
    let isFile = entry.isFile;
    const path = join(folder, entry.name);
    let sizeBytes: number | null = null;
    if (entry.isSymbolicLink || isFile) {
      const info = await stat(path).catch(() => undefined);
      if (info === undefined) continue;
      isDirectory = info.isDirectory();
      isFile = info.isFile();
      sizeBytes = isFile ? info.size : null;
    }
    if (isDirectory) entries.push({ name: entry.name, path: path + sep, kind: 'folder', sizeBytes: null });
    else if (isFile && (wanted.length === 0 || wanted.some((extension) => entry.name.toLowerCase().endsWith(extension)))) entries.push({ name: entry.name, path, kind: 'file', sizeBytes });
  }
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'folder' ? -1 : 1));
  return { folder, entries: entries.slice(0, maxEntries), truncated: entries.length > maxEntries };
}
