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
export type SaeFormat = 'saelens' | 'sparsify' | 'llama-scope' | 'paper-pth' | 'qwen-scope' | 'gemma-scope' | 'dictionary-learning' | 'facet';

export const SAE_FORMATS: readonly SaeFormat[] = ['saelens', 'sparsify', 'llama-scope', 'paper-pth', 'qwen-scope', 'gemma-scope', 'dictionary-learning', 'facet'];

/** One line per format: the layout Facet recognises it by (for error messages and `--help`). */
export const SAE_FORMAT_LAYOUTS: Readonly<Record<SaeFormat, string>> = {
  saelens: 'SAELens: cfg.json + sae_weights.safetensors (W_enc [d_in, d_sae], W_dec, b_enc, b_dec, threshold | topk_threshold)',
  sparsify: 'sparsify: layers.N/cfg.json + sae.safetensors (encoder.weight [d_sae, d_in], encoder.bias, W_dec, b_dec)',
  'llama-scope': 'Llama Scope: hyperparams.json + lm_config.json + checkpoints/final.safetensors (encoder.weight, decoder.weight [d_model, d_sae], biases)',
  'paper-pth': "the paper's .pth: torch.save({'weight': {W_enc [d, h], b_enc, b_dec, mask?}, 'config': {d_inp, d_hide, topK}})",
  'qwen-scope': 'Qwen-Scope: SAE-Res-<model>-W<width>-L0_<k>/layer<n>.sae.pt (torch dict W_enc [d_sae, d_model], W_dec [d_model, d_sae], b_enc, b_dec)',
  'gemma-scope': 'Gemma Scope: gemma-scope-<size>-<pt|it>-res/layer_<n>/width_<w>/average_l0_<l0>/params.npz (W_enc [d_model, d_sae], W_dec, b_enc, b_dec, threshold)',
  'dictionary-learning': 'dictionary_learning: ae.pt (torch state dict) + config.json {trainer: {dict_class, activation_dim, dict_size, k, layer, lm_name}}',
  facet: "Facet's own: facet_sae.json + sae.safetensors",
};

/** Largest layer index Facet accepts from a file or `--layer` (no released model has 1,024 blocks). */
export const MAX_SAE_LAYER = 1023;

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
  /**
   * What the stored weights were changed by at import to follow the releasing project's own
   * forward code (`fold-decoder-norms`, `openmoss-dataset-norm`, …); part of the SAE's identity.
   */
  transforms?: string[];
  /** In which units the feature activations come out, in words (`sae info` shows it). */
  activationUnits?: string;
  /** Smallest and largest per-feature threshold, when the weights carry them. */
  thresholdRange?: [number, number];
}

export interface SaeConfig {
  architecture: SaeArchitectureName;
  /** Input width (the model's n_embd at the hooked layer). */
  dIn: number;
  /** Number of features. */
  dSae: number;
  /** Active features per row for `topk` and `batchtopk` without threshold; null otherwise. */
  k: number | null;
  /**
   * `topk` only: keep the K largest pre-activations as they are, negative ones included (Qwen-Scope's
   * `get_feature_acts`), instead of ReLU after TopK. Sparse outputs still list positive codes only.
   */
  signedTopK?: boolean;
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
  /**
   * From a loader: sha256 (hex) of the weight files' bytes, in `source.files` order. Once
   * registered: the SAE's identity, sha256 over {@link SaeConfig.weightsHash} and every setting
   * that changes encoding (see `saeIdentity`), so the same weights with another configuration
   * are another SAE.
   */
  hash: string;
  /** sha256 of the weight files' bytes, set at registration (absent on SAEs registered before it). */
  weightsHash?: string;
}

/** Short human description, e.g. `topk K=20 4096→65536 tied`. */
export function describeSaeConfig(config: SaeConfig): string {
  const parts: string[] = [config.architecture];
  if (config.k !== null) parts.push(`K=${config.k}${config.signedTopK === true ? ' signed' : ''}`);
  if (config.threshold !== null) parts.push(`θ=${config.threshold}`);
  parts.push(`${config.dIn}→${config.dSae}`);
  if (config.tied) parts.push('tied');
  if (config.normalisation.kind !== 'none') parts.push(`norm=${config.normalisation.kind}`);
  return parts.join(' ');
}
