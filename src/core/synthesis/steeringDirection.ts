import { FacetError } from '../../shared/FacetError.ts';
import type { SaeConfig } from '../sae/SaeConfig.ts';
import type { SaeWeights } from '../sae/SaeWeights.ts';

/**
 * The residual-stream direction that writes feature `feature`: its SAE decoder row (`W_dec[f]`, or
 * column f of `W_enc` for a tied SAE), times `magnitude` — synthesis passes the feature's largest
 * anchor activation, so steering strength 1 adds the feature as strongly as the anchor set ever
 * shows it.
 */
export function steeringDirection(config: SaeConfig, weights: SaeWeights, feature: number, magnitude: number): Float32Array {
  const { dIn, dSae } = config;
  if (!Number.isInteger(feature) || feature < 0 || feature >= dSae) throw new FacetError('INVALID_ARGUMENT', `Feature ${feature} is outside 0..${dSae - 1}.`, { feature, dSae });
  const out = new Float32Array(dIn);
  if (weights.wDec !== null) {
    for (let i = 0; i < dIn; i++) out[i] = weights.wDec[feature * dIn + i]! * magnitude;
  } else {
    for (let i = 0; i < dIn; i++) out[i] = weights.wEnc[i * dSae + feature]! * magnitude;
  }
  return out;
}
