import { createHash } from 'node:crypto';
import type { SaeConfig, SaeSource } from '../SaeConfig.ts';
import type { SaeWeights } from '../SaeWeights.ts';
import type { TiedTopKParameters } from './TiedTopKParameters.ts';

export interface TrainedSaeIdentity {
  /** Model the activations came from (registered name or file name). */
  modelFamily: string | null;
  /** llama.cpp 0-based `l_out` index trained on. */
  layer: number;
  /** Where the SAE's files are (filled in by the writer that stores them). */
  source?: Partial<SaeSource>;
}

/**
 * A trained tied TopK SAE as Facet's SAE config + weights (the paper's format: tied, TopK, b_dec
 * subtracted from the input, no normalisation). W `[dSae, dIn]` becomes `wEnc [dIn, dSae]`
 * (transposed once) and `wDec` stays null (W_dec = W_encᵀ). The hash is sha256 over the float32
 * bytes of wEnc, bEnc, bDec in that order.
 */
export function tiedTopKToSae(parameters: TiedTopKParameters, k: number, identity: TrainedSaeIdentity): { config: SaeConfig; weights: SaeWeights } {
  const { dIn, dSae, weight } = parameters;
  const wEnc = new Float32Array(dIn * dSae);
  const block = 64;
  for (let f0 = 0; f0 < dSae; f0 += block) {
    for (let i0 = 0; i0 < dIn; i0 += block) {
      const fEnd = Math.min(f0 + block, dSae);
      const iEnd = Math.min(i0 + block, dIn);
      for (let f = f0; f < fEnd; f++) for (let i = i0; i < iEnd; i++) wEnc[i * dSae + f] = weight[f * dIn + i]!;
    }
  }
  const weights: SaeWeights = { wEnc, bEnc: parameters.encoderBias.slice(), wDec: null, bDec: parameters.decoderBias.slice(), threshold: null };
  const hash = createHash('sha256');
  for (const array of [weights.wEnc, weights.bEnc, weights.bDec]) hash.update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  const config: SaeConfig = {
    architecture: 'topk',
    dIn,
    dSae,
    k,
    normalisation: { kind: 'none' },
    tied: true,
    applyBDecToInput: true,
    threshold: null,
    modelFamily: identity.modelFamily,
    layer: identity.layer,
    source: {
      format: 'facet',
      path: identity.source?.path ?? '',
      files: identity.source?.files ?? [],
      hookName: identity.source?.hookName ?? `l_out-${identity.layer}`,
      notes: identity.source?.notes ?? ['Trained in Facet: tied TopK, b_dec subtracted from the input, no input normalisation.'],
    },
    hash: hash.digest('hex'),
  };
  return { config, weights };
}
