/**
 * The plain description of a sparse autoencoder, kept apart from its math (see
 * `SaeArchitecture.ts`) and its numbers (see `SaeWeights.ts`). Every loader produces one; the
 * store keeps it as JSON; the ONNX graph builder and the float64 reference read it.
 *
 * Encoding, for every architecture:
 *   x' = normalise(x)                                  (see {@link SaeNormalisation})
 *   pre = (x' − b_dec·[applyBDecToInput]) · W_enc + b_enc
 *   codes = activation(pre)                            (see {@link SaeArchitectureName})
 * Decoding: x̂' = codes · W_dec + b_dec, then the inverse of a `scale` normalisation.
 */

/**
 * - `standard`: ReLU(pre).
 * - `topk`: keep the K largest entries of `pre` per row, then ReLU (the paper's SAE).
 * - `jumprelu`: pre where pre > θ (strictly), else 0; θ per feature or one scalar.
 * - `batchtopk`: trained with a batch-level top-K; at inference either per-row TopK (no
 *   threshold) or, with a scalar threshold θ, ReLU(pre) where pre > θ.
 */
export type SaeArchitectureName = 'standard' | 'topk' | 'jumprelu' | 'batchtopk';

export const SAE_ARCHITECTURE_NAMES: readonly SaeArchitectureName[] = ['standard', 'topk', 'jumprelu', 'batchtopk'];

/**
 * Input normalisation applied before encoding.
 * - `none`: the paper's SAEs.
 * - `scale`: x·factor (dataset-norm scaling, e.g. Llama Scope's √d_in / mean‖x‖); decoding
 *   divides the reconstruction by the same factor, so it comes back in model units.
 * - `row-norm`: each row rescaled to norm √d_in (SAELens `constant_norm_rescale`). Decoding
 *   cannot undo it without the row's norm: decoded rows stay in normalised units.
 * - `layer-norm`: (x − mean)/(std + eps) per row, std with Bessel's correction (SAELens
 *   `layer_norm`). Decoded rows stay in normalised units.
 */
export type SaeNormalisation =
  | { kind: 'none' }
  | { kind: 'scale'; factor: number }
  | { kind: 'row-norm' }
  | { kind: 'layer-norm'; eps: number };

/** The file formats Facet reads. `facet` is Facet's own (trained or converted) layout. */
export type SaeFormat = 'saelens' | 'sparsify' | 'llama-scope' | 'paper-pth' | 'facet';

export const SAE_FORMATS: readonly SaeFormat[] = ['saelens', 'sparsify', 'llama-scope', 'paper-pth', 'facet'];

export interface SaeSource {
  format: SaeFormat;
  /** Absolute path the SAE was imported from (file or folder). */
  path: string;
  /** Files that hold the SAE, relative to `path` when it is a folder (`[]` for a single file). */
  files: string[];
  /** The original hook or layer name (`blocks.12.hook_resid_post`, `layers.15`, `l16`). */
  hookName: string | null;
  /** What the loader assumed or ignored, in words a user can check. */
  notes: string[];
}

export interface SaeConfig {
  architecture: SaeArchitectureName;
  /** Input width (the model's n_embd at the hooked layer). */
  dIn: number;
  /** Number of features. */
  dSae: number;
  /** Active features per row for `topk` and `batchtopk` without threshold; null otherwise. */
  k: number | null;
  normalisation: SaeNormalisation;
  /** W_dec = W_encᵀ: no separate decoder matrix is stored. */
  tied: boolean;
  /** Subtract b_dec from the (normalised) input before the encoder matrix. */
  applyBDecToInput: boolean;
  /**
   * One threshold for every feature (`jumprelu`, `batchtopk` at inference); null when the
   * thresholds are per feature (`SaeWeights.threshold`) or the architecture has none.
   */
  threshold: number | null;
  /** Model the SAE was trained on, as its source names it (`meta-llama/Llama-3.1-8B`); null if unknown. */
  modelFamily: string | null;
  /** llama.cpp 0-based `l_out-<layer>` index the SAE reads; null when unknown or not a residual. */
  layer: number | null;
  source: SaeSource;
  /** sha256 (hex) of the weight files' bytes, in `source.files` order. */
  hash: string;
}

/** Short human description, e.g. `topk K=20 4096→65536 tied`. */
export function describeSaeConfig(config: SaeConfig): string {
  const parts: string[] = [config.architecture];
  if (config.k !== null) parts.push(`K=${config.k}`);
  if (config.threshold !== null) parts.push(`θ=${config.threshold}`);
  parts.push(`${config.dIn}→${config.dSae}`);
  if (config.tied) parts.push('tied');
  if (config.normalisation.kind !== 'none') parts.push(`norm=${config.normalisation.kind}`);
  return parts.join(' ');
}
