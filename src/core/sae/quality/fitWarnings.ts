import type { SaeConfig } from '../SaeConfig.ts';
import type { SaeQualityMetrics } from './measureSaeQuality.ts';

/** Where the checked activations came from (all optional: unknown facts give no warning). */
export interface SaeFitContext {
  /** llama.cpp 0-based `l_out` index the activations were captured at. */
  layer?: number | null;
  /** Model name or file name (used to tell base from instruct models). */
  modelName?: string | null;
  /** GGUF quantisation name (`Q4_K_M`, `F16`, …). */
  quantization?: string | null;
  /** The model's block count, to say what a layer index means. */
  blockCount?: number | null;
}

export type SaeFitWarningCode =
  | 'D_IN_MISMATCH'
  | 'LAYER_MISMATCH'
  | 'LAYER_UNKNOWN'
  | 'BASE_VS_INSTRUCT'
  | 'FVU_ABOVE_ONE'
  | 'FVU_HIGH'
  | 'MANY_DEAD_FEATURES'
  | 'ALWAYS_ON_FEATURES'
  | 'L0_BELOW_K';

export interface SaeFitWarning {
  code: SaeFitWarningCode;
  /** `error`: the SAE cannot be used on these activations; `warning`: results are suspect. */
  severity: 'error' | 'warning';
  message: string;
}

/** FVU above this is a poor fit (the paper's SAE: normalised MSE ≈ 0.16 at K = 20). */
export const FVU_WARNING = 0.5;

const INSTRUCT_NAME = /instruct|chat|[-_.]it\b|[-_.]it[-_.]|\bsft\b|\bdpo\b|rlhf/i;

/** Explains, in words a user can act on, why an SAE may not fit the activations. */
export function fitWarnings(config: SaeConfig, metrics: SaeQualityMetrics | null, dIn: number, context: SaeFitContext): SaeFitWarning[] {
  const warnings: SaeFitWarning[] = [];
  if (dIn !== config.dIn) {
    warnings.push({
      code: 'D_IN_MISMATCH',
      severity: 'error',
      message: `The SAE reads vectors of width ${config.dIn} but the model's residual stream has width ${dIn}: this SAE was trained on a different model. Pick an SAE made for this model (its d_in must be ${dIn}).`,
    });
    return warnings;
  }
  const layerMismatch = context.layer !== undefined && context.layer !== null && config.layer !== null && context.layer !== config.layer;
  if (layerMismatch) {
    warnings.push({
      code: 'LAYER_MISMATCH',
      severity: 'warning',
      message: `The SAE was trained on l_out-${config.layer} (the residual after block ${config.layer}, 0-based) but the activations come from l_out-${context.layer}. Check with --layer ${config.layer}.`,
    });
  } else if (config.layer === null) {
    warnings.push({ code: 'LAYER_UNKNOWN', severity: 'warning', message: 'The SAE does not record its layer; set it when importing (facet sae import --layer L) so mismatches can be caught.' });
  }
  const saeInstruct = config.modelFamily === null ? null : INSTRUCT_NAME.test(config.modelFamily);
  const modelInstruct = context.modelName ? INSTRUCT_NAME.test(context.modelName) : null;
  const baseVsInstruct = saeInstruct !== null && modelInstruct !== null && saeInstruct !== modelInstruct;
  if (baseVsInstruct) {
    warnings.push({
      code: 'BASE_VS_INSTRUCT',
      severity: 'warning',
      message: `The SAE was trained on ${config.modelFamily} (${saeInstruct ? 'an instruct' : 'a base'} model) but the activations come from ${context.modelName} (${modelInstruct ? 'an instruct' : 'a base'} model); post-training shifts the residual stream.`,
    });
  }
  if (metrics === null) return warnings;

  const fvu = metrics.fractionOfVarianceUnexplained;
  if (fvu > FVU_WARNING) {
    const reasons: string[] = [];
    if (layerMismatch) reasons.push(`the layer differs (SAE l_out-${config.layer}, activations l_out-${context.layer})`);
    else if (config.layer === null || context.layer === undefined || context.layer === null) reasons.push('a wrong layer (an off-by-one between 1-based block numbers and 0-based l_out indices is common)');
    if (baseVsInstruct) reasons.push('base vs instruct weights');
    else if (saeInstruct === null || modelInstruct === null) reasons.push('a base model\'s SAE used on an instruct model or the reverse');
    const quantized = context.quantization && !/^(F32|F16|BF16|ALL_F32|MOSTLY_F16|MOSTLY_BF16)$/i.test(context.quantization);
    if (quantized) reasons.push(`quantisation drift (the model file is ${context.quantization}; compare with an F16 file)`);
    else if (!context.quantization) reasons.push('quantisation drift (a heavily quantised model file)');
    // Layer, weights and quantisation all match what the SAE records: the SAE itself is the suspect.
    if (reasons.length === 0) reasons.push('an SAE trained on other activations than its metadata says (another model, layer or normalisation), or one that did not converge');
    warnings.push({
      code: fvu > 1 ? 'FVU_ABOVE_ONE' : 'FVU_HIGH',
      severity: 'warning',
      message:
        `${fvu > 1 ? 'The SAE reconstructs worse than predicting the mean vector' : 'The SAE explains little of the variance'} (FVU ${fvu.toFixed(3)}, normalised MSE ${metrics.normalisedMse.toFixed(3)}; ` +
        `a well-fitting SAE is near 0.1–0.3). Likely causes: ${reasons.join('; ')}.`,
    });
  }
  const deadShare = metrics.deadFeatures / config.dSae;
  if (deadShare > 0.5 && metrics.tokens >= 10 * config.dSae / Math.max(1, config.k ?? 20)) {
    warnings.push({
      code: 'MANY_DEAD_FEATURES',
      severity: 'warning',
      message: `${metrics.deadFeatures} of ${config.dSae} features (${(100 * deadShare).toFixed(1)}%) never fired on ${metrics.tokens} tokens; the activations may not be what the SAE was trained on.`,
    });
  }
  if (metrics.alwaysOnFeatures > 0) {
    warnings.push({
      code: 'ALWAYS_ON_FEATURES',
      severity: 'warning',
      message: `${metrics.alwaysOnFeatures} features fire on ≥ ${(100 * metrics.alwaysOnShare).toFixed(0)}% of tokens (e.g. ${metrics.alwaysOnExamples.slice(0, 5).join(', ')}); they carry no sample-specific signal and inflate coverage counts.`,
    });
  }
  if (config.k !== null && (config.architecture === 'topk' || config.architecture === 'batchtopk') && metrics.l0 < 0.5 * config.k) {
    warnings.push({
      code: 'L0_BELOW_K',
      severity: 'warning',
      message: `Only ${metrics.l0.toFixed(1)} of K = ${config.k} selected features are positive per token on average: most pre-activations are negative, a sign of shifted activations (wrong layer or model).`,
    });
  }
  return warnings;
}
