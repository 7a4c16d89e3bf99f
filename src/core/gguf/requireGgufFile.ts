import { FacetError } from '../../shared/FacetError.ts';
import { pathKind, specialFileDescription } from '../workspace/pathKind.ts';

/**
 * Refuses anything but an existing regular file before a model path is opened: missing is
 * `MODEL_FILE_NOT_FOUND`, a folder `MODEL_PATH_IS_DIRECTORY`, a device, FIFO or socket
 * `MODEL_FILE_SPECIAL` (opening a FIFO would block, reading /dev/zero would never end).
 */
export async function requireGgufFile(path: string): Promise<void> {
  const kind = await pathKind(path);
  switch (kind) {
    case 'file':
      return;
    case 'missing':
      throw new FacetError('MODEL_FILE_NOT_FOUND', `Model file ${path} does not exist. Check the path, or register the model again with \`facet models add\`.`, { path });
    case 'directory':
      throw new FacetError('MODEL_PATH_IS_DIRECTORY', `${path} is a folder, not a GGUF file. Pass the .gguf file inside it.`, { path });
    case 'special':
      throw new FacetError('MODEL_FILE_SPECIAL', `${path} is ${await specialFileDescription(path)}, not a regular file, so it cannot be a model. Pass a .gguf file on disk.`, { path });
  }
}
