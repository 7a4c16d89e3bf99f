import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forgeModel, resolveForgeShape, type ForgeModelOptions, type ForgeShape } from '../../src/core/forge/forgeModel.ts';

/** Sources whose change changes the forged bytes: part of the cache key, so a stale file is never reused. */
const forgeSources = ['forge/forgeModel.ts', 'forge/SeededRandom.ts', 'forge/ForgeChatTemplates.ts', 'forge/ForgeFamily.ts', 'gguf/GgufWriter.ts', 'gguf/Float16.ts'];
let sourceHash: string | undefined;

function forgeSourceHash(): string {
  if (sourceHash === undefined) {
    const hash = createHash('sha256');
    for (const file of forgeSources) hash.update(readFileSync(join(import.meta.dirname, '..', '..', 'src', 'core', file)));
    sourceHash = hash.digest('hex').slice(0, 12);
  }
  return sourceHash;
}

/**
 * Forges a model for tests into `<os tmpdir>/facet-forged/<forge source hash>/` once per distinct
 * option set and reuses the file afterwards (the forge is deterministic, so a cached file is the
 * same file; the forge's own tests check that by forging afresh).
 */
export async function forgeTestModel(options: Omit<ForgeModelOptions, 'out'>): Promise<ForgeShape & { path: string; family: ForgeModelOptions['family'] }> {
  const shape = resolveForgeShape(options);
  const folder = join(tmpdir(), 'facet-forged', forgeSourceHash());
  mkdirSync(folder, { recursive: true });
  const key = [options.family, `L${shape.layers}`, `d${shape.dim}`, `h${shape.heads}`, `kv${shape.kvHeads}`, `ff${shape.ff}`, `ctx${shape.contextLength}`, options.weightType ?? 'F32', `s${options.seed}`].join('-');
  const path = join(folder, `${key}.gguf`);
  if (!existsSync(path)) await forgeModel({ ...options, out: path });
  return { ...shape, path, family: options.family };
}
