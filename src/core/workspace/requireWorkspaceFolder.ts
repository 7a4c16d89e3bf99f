import { statSync } from 'node:fs';
import { FacetError } from '../../shared/FacetError.ts';

/**
 * Refuses a workspace path that exists but is not a folder (FACET_HOME pointing at a file or a
 * device) with `WORKSPACE_INVALID`, before anything tries to create the database in it. A path
 * that does not exist yet is fine: the store creates it.
 */
export function requireWorkspaceFolder(home: string): void {
  let isFolder: boolean;
  try {
    isFolder = statSync(home).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') isFolder = false;
    else throw new FacetError('WORKSPACE_INVALID', `The workspace ${home} cannot be read (${code ?? (error as Error).message}). Check its permissions, or point FACET_HOME at another folder.`, { home });
  }
  if (!isFolder) {
    throw new FacetError('WORKSPACE_INVALID', `The workspace ${home} (FACET_HOME, or the default data folder) is not a folder. Point FACET_HOME at a folder (it is created if missing), or move that file away.`, { home });
  }
}
