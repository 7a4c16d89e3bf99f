import { join } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import type { SaeArchitectureName, SaeConfig, SaeNormalisation } from '../SaeConfig.ts';
import { validateSaeWeights, type SaeWeights } from '../SaeWeights.ts';
import type { LoadedSae, SaeLoader } from './SaeLoader.ts';
import { readSafetensorsHeader, readSafetensorsTensor } from '../formats/SafetensorsFile.ts';
import { hashFiles } from './hashFiles.ts';
import { JsonConfigFile } from './JsonConfigFile.ts';
import { layerFromHookName } from './layerFromHookName.ts';
import { pathKind } from './pathKind.ts';
import { readShapedTensor } from './readShapedTensor.ts';

const CONFIG = 'cfg.json';
const WEIGHTS = 'sae_weights.safetensors';

/**
 * SAELens layout: `cfg.json` + `sae_weights.safetensors` with W_enc [d_in, d_sae],
 * W_dec [d_sae, d_in], b_enc, b_dec and, for JumpReLU, `threshold` [d_sae] (or `log_threshold`).
 * Reads both the flat config of SAELens ≤ 5 (`hook_name`, `activation_fn_str`,
 * `activation_fn_kwargs.k`) and the v6 config (`architecture`, `k`, `meta.hook_name`).
 */
export const saeLensLoader: SaeLoader = {
  format: 'saelens',
  async detect(path) {
    return (await pathKind(join(path, CONFIG))) === 'file' && (await pathKind(join(path, WEIGHTS))) === 'file';
  },
  async load(path) {
    const cfgPath = join(path, CONFIG);
    const weightsPath = join(path, WEIGHTS);
    const cfg = await JsonConfigFile.read(cfgPath);
    const meta = cfg.object('meta');
    const dIn = cfg.integer('d_in');
    const dSae = cfg.integer('d_sae');
    const notes: string[] = [];

    const declared = cfg.string('architecture') ?? 'standard';
    const activationName = cfg.string('activation_fn_str') ?? cfg.string('activation_fn');
    const kwargs = cfg.object('activation_fn_kwargs');
    let architecture: SaeArchitectureName;
    if (declared === 'standard' && activationName === 'topk') architecture = 'topk';
    else if (declared === 'standard' || declared === 'topk' || declared === 'jumprelu' || declared === 'batchtopk') architecture = declared;
    else {
      throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: architecture '${declared}' is not one Facet encodes (standard, topk, jumprelu, batchtopk). Convert the SAE, or use one of those.`, { file: cfgPath, architecture: declared });
    }
    if (declared === 'standard' && activationName !== null && activationName !== 'relu' && activationName !== 'topk') {
      throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: activation '${activationName}' is not supported (relu or topk). Convert the SAE to a supported activation.`, { file: cfgPath, activation: activationName });
    }
    const k = architecture === 'topk' || architecture === 'batchtopk' ? (cfg.number('k') ?? kwargs?.number('k') ?? null) : null;

    const normalisation = readNormalisation(cfg, cfgPath, notes);
    const applyBDecToInput = cfg.fields['apply_b_dec_to_input'] !== false;
    const hookName = cfg.string('hook_name') ?? meta?.string('hook_name') ?? null;
    const modelFamily = cfg.string('model_name') ?? meta?.string('model_name') ?? null;
    const { layer, note } = layerFromHookName(hookName);
    if (note !== null) notes.push(note);

    const header = await readSafetensorsHeader(weightsPath);
    const wEnc = await readShapedTensor(header, ['W_enc'], [dIn, dSae], true);
    const wDec = await readShapedTensor(header, ['W_dec'], [dSae, dIn], true);
    const bEnc = await readShapedTensor(header, ['b_enc'], [dSae], true);
    const bDec = await readShapedTensor(header, ['b_dec'], [dIn], true);
    let threshold: Float32Array | null = null;
    let thresholdName = 'threshold';
    let scalarThreshold: number | null = null;
    if (architecture === 'jumprelu' || architecture === 'batchtopk') {
      const direct = await readShapedTensor(header, ['threshold'], [dSae], false);
      const logged = direct === null ? await readShapedTensor(header, ['log_threshold'], [dSae], false) : null;
      if (direct !== null) threshold = direct.data;
      else if (logged !== null) {
        threshold = Float32Array.from(logged.data, Math.exp);
        thresholdName = 'log_threshold';
      }
      const cfgThreshold = cfg.number('jump_relu_threshold') ?? cfg.number('threshold');
      if (threshold === null && cfgThreshold !== null) scalarThreshold = cfgThreshold;
      if (architecture === 'batchtopk') {
        // Inference-time BatchTopK threshold is one value for every feature: a `threshold` vector
        // of equal entries, or the scalar `topk_threshold` the trainer keeps.
        const global = header.tensors.get('topk_threshold');
        if (threshold !== null) scalarThreshold = threshold[0] ?? null;
        else if (global !== undefined && global.shape.reduce((a, b) => a * b, 1) === 1) scalarThreshold = (await readSafetensorsTensor(header, 'topk_threshold'))[0] ?? null;
        threshold = null;
        if (scalarThreshold !== null) notes.push(`BatchTopK encodes with its global threshold ${scalarThreshold} (ReLU above it), not per-row TopK.`);
      }
    }

    if (architecture === 'topk' && cfg.fields['rescale_acts_by_decoder_norm'] === true) {
      foldDecoderNorms(wEnc.data, bEnc.data, wDec.data, dIn, dSae);
      notes.push('rescale_acts_by_decoder_norm: decoder norms folded into W_enc and b_enc at import.');
    }

    const weights: SaeWeights = { wEnc: wEnc.data, bEnc: bEnc.data, wDec: wDec.data, bDec: bDec.data, threshold };
    const config: SaeConfig = {
      architecture,
      dIn,
      dSae,
      k,
      normalisation,
      tied: false,
      applyBDecToInput,
      threshold: scalarThreshold,
      modelFamily,
      layer,
      source: { format: 'saelens', path, files: [CONFIG, WEIGHTS], hookName, notes },
      hash: await hashFiles([weightsPath]),
    };
    const origins = {
      wEnc: { file: weightsPath, tensor: 'W_enc' },
      bEnc: { file: weightsPath, tensor: 'b_enc' },
      wDec: { file: weightsPath, tensor: 'W_dec' },
      bDec: { file: weightsPath, tensor: 'b_dec' },
      threshold: { file: weightsPath, tensor: thresholdName },
    };
    validateSaeWeights(config, weights, origins);
    return { config, weights, origins } satisfies LoadedSae;
  },
};

function readNormalisation(cfg: JsonConfigFile, cfgPath: string, notes: string[]): SaeNormalisation {
  const value = cfg.string('normalize_activations') ?? 'none';
  switch (value) {
    case 'none':
      return { kind: 'none' };
    case 'expected_average_only_in': {
      const factor = cfg.number('norm_scaling_factor') ?? cfg.number('activation_norm_scaling_factor');
      if (factor !== null) return { kind: 'scale', factor };
      notes.push('normalize_activations=expected_average_only_in without a stored scaling factor: inputs are used unscaled, as SAELens does at inference.');
      return { kind: 'none' };
    }
    case 'constant_norm_rescale':
      return { kind: 'row-norm' };
    case 'layer_norm':
      return { kind: 'layer-norm', eps: 1e-5 };
    default:
      throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: normalize_activations '${value}' is unknown (none, expected_average_only_in, constant_norm_rescale, layer_norm). Fix the config file.`, { file: cfgPath, normalize_activations: value });
  }
}

/** Makes decoder rows unit-norm and scales encoder columns and b_enc by the old norms. */
function foldDecoderNorms(wEnc: Float32Array, bEnc: Float32Array, wDec: Float32Array, dIn: number, dSae: number): void {
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
