import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import { readSafetensorsHeader, readSafetensorsTensor, type SafetensorsHeader } from '../formats/SafetensorsFile.ts';

/**
 * Helpers every format loader shares: JSON config reading, tensor lookup with shape checks,
 * transposition, hashing, and the hook-name → llama.cpp layer mapping.
 */

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Reads a JSON object; `SAE_FILE_INVALID` naming the file when it is missing or malformed. */
export async function readJsonObject(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FacetError('SAE_FILE_INVALID', `Cannot read ${path}: ${(error as Error).message}. The SAE folder needs this file.`, { file: path }, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FacetError('SAE_FILE_INVALID', `${path} is not valid JSON (${(error as Error).message}). Fix or re-download the file.`, { file: path });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FacetError('SAE_FILE_INVALID', `${path} must hold a JSON object.`, { file: path });
  return value as Record<string, unknown>;
}

/** A positive integer field, or `SAE_FILE_INVALID` naming the file and field. */
export function requireInteger(object: Record<string, unknown>, field: string, file: string): number {
  const value = object[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new FacetError('SAE_FILE_INVALID', `${file}: field '${field}' must be a positive integer (got ${JSON.stringify(value)}). Fix the config file.`, { file, field });
  }
  return value;
}

export function optionalNumber(object: Record<string, unknown>, field: string): number | null {
  const value = object[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function optionalString(object: Record<string, unknown> | undefined, field: string): string | null {
  const value = object?.[field];
  return typeof value === 'string' && value !== '' ? value : null;
}

/** Reads a tensor and checks its shape; `SAE_SHAPE_MISMATCH` names file, tensor and both shapes. */
export async function readTensorWithShape(header: SafetensorsHeader, names: string[], shape: number[], required: true): Promise<{ name: string; data: Float32Array }>;
export async function readTensorWithShape(header: SafetensorsHeader, names: string[], shape: number[], required: false): Promise<{ name: string; data: Float32Array } | null>;
export async function readTensorWithShape(header: SafetensorsHeader, names: string[], shape: number[], required: boolean): Promise<{ name: string; data: Float32Array } | null> {
  const name = names.find((candidate) => header.tensors.has(candidate));
  if (name === undefined) {
    if (!required) return null;
    throw new FacetError('SAE_FILE_INVALID', `${header.path} has no tensor ${names.map((n) => `'${n}'`).join(' or ')} (it has ${[...header.tensors.keys()].join(', ') || 'none'}). Check that this is the SAE's weight file.`, { file: header.path, tensor: names[0] });
  }
  const info = header.tensors.get(name);
  if (info === undefined || info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
    throw new FacetError(
      'SAE_SHAPE_MISMATCH',
      `${header.path}: tensor '${name}' has shape [${info?.shape.join(', ')}] but the config needs [${shape.join(', ')}]. Check that the config file (d_in, d_sae) belongs to these weights.`,
      { file: header.path, tensor: name, shape: info?.shape, expected: shape },
    );
  }
  return { name, data: await readSafetensorsTensor(header, name) };
}

/** Shape of a tensor if present. */
export function tensorShape(header: SafetensorsHeader, name: string): number[] | null {
  return header.tensors.get(name)?.shape ?? null;
}

export async function openSafetensors(path: string): Promise<SafetensorsHeader> {
  return readSafetensorsHeader(path);
}

/** Transposes `[rows, cols]` row-major into `[cols, rows]` row-major (blocked for cache use). */
export function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  const block = 64;
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(rows, r0 + block);
    for (let c0 = 0; c0 < cols; c0 += block) {
      const c1 = Math.min(cols, c0 + block);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = data[r * cols + c] as number;
    }
  }
  return out;
}

/** sha256 (hex) over the files' bytes in order. */
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

export function joinAll(folder: string, files: string[]): string[] {
  return files.map((file) => join(folder, file));
}

/**
 * llama.cpp `l_out-<L>` index for a hook name, with a note saying how it was read:
 * SAELens/TransformerLens `blocks.L.hook_resid_post` → L; `blocks.L.hook_resid_pre` → L−1
 * (the residual entering block L left block L−1); HF module `layers.N` output =
 * `hidden_states[N+1]` → N. Anything else (MLP, attention, embeddings) → null.
 */
export function layerFromHookName(hook: string | null): { layer: number | null; note: string | null } {
  if (hook === null) return { layer: null, note: 'The SAE names no hook point; give --layer.' };
  let match = /^blocks\.(\d+)\.hook_resid_post$/.exec(hook);
  if (match) return { layer: Number(match[1]), note: null };
  match = /^blocks\.(\d+)\.hook_resid_pre$/.exec(hook);
  if (match) {
    const block = Number(match[1]);
    if (block === 0) return { layer: null, note: `${hook} reads the token embeddings, which llama.cpp exposes as no l_out tensor.` };
    return { layer: block - 1, note: `${hook} is the residual entering block ${block}, i.e. llama.cpp l_out-${block - 1}.` };
  }
  match = /(?:^|\.)layers[._](\d+)$/.exec(hook);
  if (match) return { layer: Number(match[1]), note: `${hook} output is HF hidden_states[${Number(match[1]) + 1}], i.e. llama.cpp l_out-${match[1]}.` };
  return { layer: null, note: `Hook ${hook} is not a residual-stream output Facet can capture; give --layer if it is one.` };
}
