import { join } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import type { SaeArchitectureName, SaeConfig, SaeNormalisation } from '../SaeConfig.ts';
import { validateSaeWeights, type SaeWeights } from '../SaeWeights.ts';
import type { LoadedSae, SaeLoader } from './SaeLoader.ts';
import { readSafetensorsHeader, readSafetensorsTensor } from '../formats/SafetensorsFile.ts';
import { hashFiles } from './hashFiles.ts';
import { JsonConfigFile } from './JsonConfigFile.ts';
import { layerFromHookName } from './layerFromHookName.ts';
import { requireResidualHook } from './requireResidualHook.ts';
import { foldDecoderNorms } from './foldDecoderNorms.ts';
import { pathKind } from './pathKind.ts';
import { readShapedTensor } from './readShapedTensor.ts';

const CONFIG = 'cfg.json';
const WEIGHTS = 'sae_weights.safetensors';

/**
 * SAELens layout: `cfg.json` + `sae_weights.safetensors` with W_enc [d_in, d_sae],
 * W_dec [d_sae, d_in], b_enc, b_dec and, for JumpReLU, `threshold` [d_sae] (or `log_threshold`).
 * Reads both the flat config of SAELens ≤ 5 (`hook_name`, `activation_fn_str`,
 * `activation_fn_kwargs.k`) and the v6 config (`architecture`, `k`, `metadata.hook_name`), and
 * topk/batchtopk training checkpoints, which it turns into what SAELens saves for inference.
 */
export const saeLensLoader: SaeLoader = {
  format: 'saelens',
  kind: 'folder',
  async detect(path) {
    return (await pathKind(join(path, CONFIG))) === 'file' && (await pathKind(join(path, WEIGHTS))) === 'file';
  },
  async load(path) {
    const cfgPath = join(path, CONFIG);
    const weightsPath = join(path, WEIGHTS);
    const cfg = await JsonConfigFile.read(cfgPath);
    // SAELens 6: SAEConfig.to_dict() writes hook and model under "metadata" (sae_lens/saes/sae.py); "meta" and top level are older.
    const meta = cfg.object('metadata') ?? cfg.object('meta');
    const dIn = cfg.integer('d_in');
    const dSae = cfg.integer('d_sae');
    const notes: string[] = [];

    const hookForErrors = cfg.string('hook_name') ?? meta?.string('hook_name') ?? 'its hook';
    let declared = cfg.string('architecture') ?? 'standard';
    // sae_lens/saes/transcoder.py: transcoder, skip_transcoder, jumprelu_transcoder write d_out outputs from another hook.
    if (declared.endsWith('transcoder') || cfg.fields['d_out'] !== undefined) {
      throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: this is a SAELens ${declared} (it reads ${hookForErrors} and writes another hook's output), not an SAE of one residual stream. Facet captures only residual-stream outputs (llama.cpp l_out); use a residual SAE.`, { file: cfgPath, hook: hookForErrors, architecture: declared });
    }
    // matryoshka_batchtopk_sae.py: a BatchTopKTrainingSAE subclass, saved for inference the same way.
    if (declared === 'matryoshka_batchtopk') declared = 'batchtopk';
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
    let k = architecture === 'topk' || architecture === 'batchtopk' ? (cfg.number('k') ?? kwargs?.number('k') ?? null) : null;

    const normalisation = readNormalisation(cfg, cfgPath, notes);
    const applyBDecToInput = cfg.fields['apply_b_dec_to_input'] !== false;
    const hookName = cfg.string('hook_name') ?? meta?.string('hook_name') ?? null;
    const modelFamily = cfg.string('model_name') ?? meta?.string('model_name') ?? null;
    requireResidualHook(cfgPath, hookName);
    const { layer, note } = layerFromHookName(hookName);
    if (note !== null) notes.push(note);

    const header = await readSafetensorsHeader(weightsPath);
    const wEnc = await readShapedTensor(header, ['W_enc'], [dIn, dSae], true);
    const wDec = await readShapedTensor(header, ['W_dec'], [dSae, dIn], true);
    const bEnc = await readShapedTensor(header, ['b_enc'], [dSae], true);
    const bDec = await readShapedTensor(header, ['b_dec'], [dIn], true);
    const transforms: string[] = [];
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
    }
    const global = header.tensors.get('topk_threshold');
    if (architecture === 'batchtopk' && threshold === null && global !== undefined && global.shape.reduce((a, b) => a * b, 1) === 1) {
      // batchtopk_sae.py process_state_dict_for_saving_inference: the scalar topk_threshold becomes a per-feature JumpReLU threshold.
      const value = (await readSafetensorsTensor(header, 'topk_threshold'))[0] as number;
      threshold = new Float32Array(dSae).fill(value);
      thresholdName = 'topk_threshold';
      architecture = 'jumprelu';
      notes.push(`SAELens batchtopk training checkpoint (k=${String(k)} on average): encoded as the JumpReLU SAE SAELens saves for inference, threshold ${value} for every feature.`);
      transforms.push('batchtopk-threshold-to-jumprelu');
      k = null;
    } else if (architecture === 'batchtopk' && threshold !== null) {
      // A batchtopk config with a threshold vector: the JumpReLU SAE SAELens saves for inference.
      architecture = 'jumprelu';
      k = null;
    }

    // topk_sae.py: rescale_acts_by_decoder_norm (default true in TopKTrainingSAEConfig) multiplies hidden_pre by W_dec row norms; _fold_norm_topk folds them when saving for inference (idempotent on unit-norm decoders).
    const rescale = cfg.fields['rescale_acts_by_decoder_norm'];
    const isTraining = cfg.fields['aux_loss_coefficient'] !== undefined || cfg.fields['decoder_init_norm'] !== undefined || global !== undefined;
    if ((declared === 'topk' || declared === 'batchtopk') && (rescale === true || (rescale === undefined && isTraining))) {
      foldDecoderNorms(wEnc.data, bEnc.data, wDec.data, dIn, dSae);
      notes.push('rescale_acts_by_decoder_norm: decoder norms folded into W_enc and b_enc at import, as SAELens does when it saves for inference.');
      transforms.push('fold-decoder-norms');
    }
    if (k !== null && !Number.isInteger(k)) throw new FacetError('SAE_FILE_INVALID', `${cfgPath}: k is ${k}, but a per-row TopK needs a whole number. Fix k in the config.`, { file: cfgPath, k });

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
      source: { format: 'saelens', path, files: [CONFIG, WEIGHTS], hookName, notes, transforms, activationUnits: saeLensUnits(normalisation) },
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

function saeLensUnits(normalisation: SaeNormalisation): string {
  if (normalisation.kind === 'scale') return `model units × ${normalisation.factor} (SAELens expected_average_only_in scaling)`;
  if (normalisation.kind === 'row-norm') return 'units of each input rescaled to norm √d_in (SAELens constant_norm_rescale)';
  if (normalisation.kind === 'layer-norm') return 'units of the layer-normed input (SAELens layer_norm)';
  return 'model units (SAELens encode on the raw residual)';
}

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
