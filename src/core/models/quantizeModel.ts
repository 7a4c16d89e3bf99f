import { existsSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { FacetError } from '../../shared/FacetError.ts';
import { loadLlamaBackend } from '../llama/LlamaBackend.ts';
import { physicalCoreCount } from '../llama/physicalCoreCount.ts';
import type { Store } from '../store/Store.ts';
import { resolveModel } from './ModelService.ts';

/** Quantization types Facet passes to llama.cpp's quantizer (its own names, lower case). */
export const quantizationTypes = ['f16', 'bf16', 'q8_0', 'q6_k', 'q5_k_m', 'q5_k_s', 'q5_0', 'q5_1', 'q4_k_m', 'q4_k_s', 'q4_0', 'q4_1', 'q3_k_m', 'q3_k_s', 'q3_k_l', 'q2_k'] as const;

export interface QuantizeRequest {
  /** Registered model name or .gguf path. */
  model: string;
  type: string;
  /** The new .gguf file; must not exist. */
  out: string;
  threads?: number;
}

/**
 * Checks a quantization request without running it (the engine calls it before a job queues):
 * the type is one llama.cpp knows, the model resolves, the output is a new .gguf in an existing folder.
 */
export async function prepareQuantize(store: Store, request: QuantizeRequest): Promise<{ input: { path: string }; out: string; type: string }> {
  const type = request.type.toLowerCase();
  if (!(quantizationTypes as readonly string[]).includes(type)) {
    throw new FacetError('INVALID_ARGUMENT', `llama.cpp does not know the quantization type '${request.type}'. Use one of ${quantizationTypes.join(', ')}.`, { type: request.type });
  }
  const input = await resolveModel(store, request.model);
  const out = resolve(request.out);
  if (extname(out).toLowerCase() !== '.gguf') throw new FacetError('INVALID_ARGUMENT', `--out must be a .gguf path (got '${request.out}').`);
  if (out === input.path) throw new FacetError('INVALID_ARGUMENT', '--out names the model being quantized; choose a new file.');
  if (existsSync(out)) throw new FacetError('INVALID_ARGUMENT', `${out} already exists; choose a new file or remove it first.`, { path: out });
  if (!existsSync(dirname(out))) throw new FacetError('NOT_FOUND', `The folder ${dirname(out)} does not exist.`, { path: out });
  return { input, out, type };
}

/**
 * `facet models quantize`: llama.cpp's own quantizer (llama_model_quantize) writes a quantized copy
 * of a model, beside the final name first and renamed when complete. Tensors whose rows do not fit a
 * K-quant's block size fall back to a simpler type, as llama.cpp decides.
 */
export async function quantizeModel(store: Store, request: QuantizeRequest): Promise<{ out: string; type: string; bytes: number; inputBytes: number; seconds: number }> {
  const started = performance.now();
  const { input, out, type } = await prepareQuantize(store, request);
  const backend = await loadLlamaBackend({ gpu: false });
  const partial = join(dirname(out), `.${Date.now()}-${process.pid}.quantizing.gguf`);
  try {
    await backend.addon.quantize(input.path, partial, type, request.threads ?? physicalCoreCount());
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { out, type, bytes: (await stat(out)).size, inputBytes: (await stat(input.path)).size, seconds: (performance.now() - started) / 1000 };
}
