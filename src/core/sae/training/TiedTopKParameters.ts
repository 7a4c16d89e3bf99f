/** Float arrays the training code works in (float64 only for gradient checks). */
export type FloatArray = Float32Array | Float64Array;

/**
 * Parameters (or same-shaped gradients / Adam moments) of a tied TopK SAE, row-major.
 * `weight` row f is feature f's direction: the decoder row, and the encoder column (tied).
 */
export interface TiedTopKParameters<A extends FloatArray = Float32Array> {
  dIn: number;
  dSae: number;
  /** [dSae, dIn] */
  weight: A;
  /** [dSae] */
  encoderBias: A;
  /** [dIn] */
  decoderBias: A;
}

export function zerosLike<A extends FloatArray>(params: TiedTopKParameters<A>): TiedTopKParameters<A> {
  const make = (array: A): A => new (array.constructor as new (length: number) => A)(array.length);
  return {
    dIn: params.dIn,
    dSae: params.dSae,
    weight: make(params.weight),
    encoderBias: make(params.encoderBias),
    decoderBias: make(params.decoderBias),
  };
}

/** The three arrays in a fixed order (checkpoint files, Adam). */
export function parameterArrays<A extends FloatArray>(params: TiedTopKParameters<A>): [A, A, A] {
  return [params.weight, params.encoderBias, params.decoderBias];
}
