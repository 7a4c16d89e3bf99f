import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forgeModel, resolveForgeShape, type ForgeModelOptions, type ForgeShape } from '../../src/core/forge/forgeModel.ts';

/**
 * Forges a model for tests into `<os tmpdir>/facet-forged/` once per distinct option set and
 * reuses the file afterwards (the forge is deterministic, so a cached file is the same file;
 * the forge's own tests check that by forging afresh).
 */
export async function forgeTestModel(options: Omit<ForgeModelOptions, 'out'>): Promise<ForgeShape & { path: string; family: ForgeModelOptions['family'] }> {
  const shape = resolveForgeShape(options);
  const folder = join(tmpdir(), 'facet-forged');
  mkdirSync(folder, { recursive: true });
  const key = [options.family, `L${shape.layers}`, `d${shape.dim}`, `h${shape.heads}`, `kv${shape.kvHeads}`, `ff${shape.ff}`, `ctx${shape.contextLength}`, options.weightType ?? 'F32', `s${options.seed}`].join('-');
  const path = join(folder, `${key}.gguf`);
  if (!existsSync(path)) await forgeModel({ ...options, out: path });
  return { ...shape, path, family: options.family };
}
