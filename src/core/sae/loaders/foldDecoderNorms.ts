/**
 * Makes each decoder row (Facet layout `wDec [dSae, dIn]`) unit-norm and multiplies the matching
 * encoder column and `b_enc` entry by the old norm, in place. Codes then equal the releasing
 * project's `pre × ‖W_dec row‖` (SAELens `_fold_norm_topk`, OpenMOSS `transform_to_unit_decoder_norm`);
 * idempotent on decoders that are already unit-norm. Zero rows are left as they are.
 */
export function foldDecoderNorms(wEnc: Float32Array, bEnc: Float32Array, wDec: Float32Array, dIn: number, dSae: number): void {
  for (let j = 0; j < dSae; j++) {
    let sum = 0;
    for (let i = 0; i < dIn; i++) sum += (wDec[j * dIn + i] as number) ** 2;
    const norm = Math.sqrt(sum);
    if (norm === 0) continue;
    for (let i = 0; i < dIn; i++) wDec[j * dIn + i] = (wDec[j * dIn + i] as number) / norm;
    for (let i = 0; i < dIn; i++) wEnc[i * dSae + j] = (wEnc[i * dSae + j] as number) * norm;
    bEnc[j] = (bEnc[j] as number) * norm;
  }
}
