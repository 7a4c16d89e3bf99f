import { readFile } from 'node:fs/promises';
import { FacetError } from '../../shared/FacetError.ts';

/**
 * Reads a feature set F from a file: a JSON array of ids, a JSON object with a `features` array,
 * or plain text with ids separated by commas or whitespace (`#` starts a comment). Returns the
 * ids sorted and deduplicated.
 */
export async function readFeatureList(path: string): Promise<number[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new FacetError('NOT_FOUND', `Feature list ${path} cannot be read. Check the path (--features takes 'all' or a file of feature ids).`, { path });
  }
  let ids: unknown[];
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new FacetError('INVALID_ARGUMENT', `Feature list ${path} is not valid JSON: ${(error as Error).message}.`, { path });
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { features?: unknown }).features;
    if (!Array.isArray(list)) throw new FacetError('INVALID_ARGUMENT', `Feature list ${path} must be a JSON array of ids or an object with a "features" array.`, { path });
    ids = list;
  } else {
    ids = trimmed
      .split('\n')
      .map((line) => line.replace(/#.*/, ''))
      .join(' ')
      .split(/[\s,]+/)
      .filter((token) => token !== '')
      .map((token) => (/^\d+$/.test(token) ? Number(token) : token));
  }
  for (const id of ids) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new FacetError('INVALID_ARGUMENT', `Feature list ${path} holds '${String(id)}', which is not a feature id (an integer ≥ 0).`, { path });
  }
  return [...new Set(ids as number[])].sort((a, b) => a - b);
}
