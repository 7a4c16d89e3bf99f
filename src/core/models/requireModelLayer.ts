import { FacetError } from '../../shared/FacetError.ts';
import type { Store } from '../store/Store.ts';
import { readModelMetadata } from './ModelMetadata.ts';
import { resolveModel } from './ModelService.ts';

/**
 * Checks a layer against the model's depth before any work starts: llama.cpp block indices run
 * 0 … blocks − 1. Refused: `LAYER_OUT_OF_RANGE`, with `details.param` naming the request parameter
 * (so each shell can point at its own control) and the valid range. Returns the block count.
 */
export async function requireModelLayer(store: Store, model: string, layer: number, param = 'layer'): Promise<number> {
  const resolved = await resolveModel(store, model);
  const blockCount = resolved.record?.blockCount ?? (await readModelMetadata(resolved.path)).blockCount;
  if (blockCount === null) return layer + 1; // the GGUF does not say; the probe checks at load
  if (!Number.isInteger(layer) || layer < 0 || layer >= blockCount) {
    const name = resolved.record?.name ?? resolved.path;
    throw new FacetError(
      'LAYER_OUT_OF_RANGE',
      `Layer ${layer} does not exist in '${name}': it has ${blockCount} blocks, so the layer (llama.cpp's 0-based l_out index) must be 0 to ${blockCount - 1}.`,
      { param, layer, blockCount, model: name, min: 0, max: blockCount - 1 },
    );
  }
  return blockCount;
}
