import { createHash } from 'node:crypto';
import type { SaeConfig } from './SaeConfig.ts';

/**
 * The identity of a registered SAE: sha256 over the weight files' hash and every setting that
 * changes what encoding produces (architecture, sizes, K, scalar threshold, normalisation, tied,
 * b_dec applied to the input, and what the loader changed in the weights). The same weights read
 * with another configuration (a different K, threshold or `apply_b_dec_to_input`) are another SAE;
 * layer and model name, which do not change encoding, are not part of it.
 */
export function saeIdentity(config: SaeConfig, weightsHash: string): string {
  const encoding = {
    weights: weightsHash,
    architecture: config.architecture,
    dIn: config.dIn,
    dSae: config.dSae,
    k: config.k,
    signedTopK: config.signedTopK === true,
    threshold: config.threshold,
    normalisation: config.normalisation,
    tied: config.tied,
    applyBDecToInput: config.applyBDecToInput,
    transforms: config.source.transforms ?? [],
  };
  return createHash('sha256').update(JSON.stringify(encoding)).digest('hex');
}
