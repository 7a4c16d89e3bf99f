import { FacetError } from '../../shared/FacetError.ts';
import type { SaeConfig } from './SaeConfig.ts';

/**
 * The numbers of an SAE, float32, in Facet's canonical orientation whatever the file stored.
 * Loaders transpose and convert into this layout once.
 */
export interface SaeWeights {
  /** [dIn, dSae] row-major: pre = x · wEnc. */
  wEnc: Float32Array;
  /** [dSae] */
  bEnc: Float32Array;
  /** [dSae, dIn] row-major; null when the config is tied (W_dec = W_encᵀ). */
  wDec: Float32Array | null;
  /** [dIn] */
  bDec: Float32Array;
  /** [dSae] per-feature JumpReLU thresholds; null when the config has a scalar or none. */
  threshold: Float32Array | null;
}

/** Where a weight came from, for error messages that name the file and the tensor. */
export interface WeightOrigin {
  file: string;
  tensor: string;
}

/**
 * Checks lengths against the config and that every value is finite. Throws
 * `SAE_SHAPE_MISMATCH` or `SAE_NAN` naming the tensor (and file, when `origins` knows it).
 */
export function validateSaeWeights(config: SaeConfig, weights: SaeWeights, origins: Partial<Record<keyof SaeWeights, WeightOrigin>> = {}): void {
  const { dIn, dSae } = config;
  const expected: Array<[keyof SaeWeights, Float32Array | null, number, string]> = [
    ['wEnc', weights.wEnc, dIn * dSae, `[${dIn}, ${dSae}]`],
    ['bEnc', weights.bEnc, dSae, `[${dSae}]`],
    ['wDec', weights.wDec, dSae * dIn, `[${dSae}, ${dIn}]`],
    ['bDec', weights.bDec, dIn, `[${dIn}]`],
    ['threshold', weights.threshold, dSae, `[${dSae}]`],
  ];
  if (config.tied && weights.wDec !== null) throw new FacetError('SAE_SHAPE_MISMATCH', 'A tied SAE must not carry a separate decoder matrix (W_dec = W_encᵀ).', { tensor: 'wDec' });
  if (!config.tied && weights.wDec === null) {
    throw new FacetError('SAE_SHAPE_MISMATCH', `${where(origins.wEnc)}the SAE is untied but no decoder matrix was found. Add W_dec [${dSae}, ${dIn}] or mark the SAE as tied.`, { tensor: 'wDec' });
  }
  for (const [name, array, length, shape] of expected) {
    if (array === null) continue;
    if (array.length !== length) {
      throw new FacetError(
        'SAE_SHAPE_MISMATCH',
        `${where(origins[name])}tensor ${origins[name]?.tensor ?? name} has ${array.length} values but d_in=${dIn}, d_sae=${dSae} need ${shape}. Check that the config file belongs to these weights.`,
        { file: origins[name]?.file, tensor: origins[name]?.tensor ?? name, length: array.length, expected: length },
      );
    }
    for (let i = 0; i < array.length; i++) {
      const value = array[i] as number;
      if (!Number.isFinite(value)) {
        throw new FacetError(
          'SAE_NAN',
          `${where(origins[name])}tensor ${origins[name]?.tensor ?? name} holds ${String(value)} at flat index ${i}. The checkpoint is corrupt or diverged in training; use an earlier checkpoint.`,
          { file: origins[name]?.file, tensor: origins[name]?.tensor ?? name, index: i },
        );
      }
    }
  }
}

function where(origin: WeightOrigin | undefined): string {
  return origin === undefined ? '' : `In ${origin.file}, `;
}
