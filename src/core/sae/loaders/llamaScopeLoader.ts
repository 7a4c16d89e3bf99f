import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import type { SaeArchitectureName, SaeConfig, SaeNormalisation } from '../SaeConfig.ts';
import { validateSaeWeights, type SaeWeights } from '../SaeWeights.ts';
import type { LoadedSae, SaeLoader } from './SaeLoader.ts';
import { transposeMatrix } from '../../arrays/transposeMatrix.ts';
import { readSafetensorsHeader } from '../formats/SafetensorsFile.ts';
import { hashFiles } from './hashFiles.ts';
import { JsonConfigFile } from './JsonConfigFile.ts';
import { layerFromHookName } from './layerFromHookName.ts';
import { requireResidualHook } from './requireResidualHook.ts';
import { foldDecoderNorms } from './foldDecoderNorms.ts';
import { pathKind } from './pathKind.ts';
import { readShapedTensor } from './readShapedTensor.ts';

const CONFIG = 'hyperparams.json';

/** The weight file: `checkpoints/final.safetensors`, else the only `.safetensors` in the folder or `checkpoints/`. */
async function findWeights(path: string): Promise<string | null> {
  if ((await pathKind(join(path, 'checkpoints', 'final.safetensors'))) === 'file') return join('checkpoints', 'final.safetensors');
  for (const folder of ['', 'checkpoints']) {
    const where = join(path, folder);
    if ((await pathKind(where)) !== 'directory') continue;
    const files = (await readdir(where)).filter((name) => name.endsWith('.safetensors')).sort();
    if (files.length === 1) return join(folder, files[0] as string);
    if (files.length > 1) return join(folder, files[files.length - 1] as string);
  }
  return null;
}

/**
 * Llama Scope layout (OpenMOSS Language-Model-SAEs): `hyperparams.json` (d_model, d_sae, act_fn,
 * jump_relu_threshold, top_k, norm_activation, dataset_average_activation_norm {in, out},
 * sparsity_include_decoder_norm, hook_point_in/out), `lm_config.json` (model_name) and
 * `checkpoints/final.safetensors` with `encoder.weight` [d_sae, d_model], `encoder.bias`,
 * `decoder.weight` [d_model, d_sae], `decoder.bias`. Read the way OpenMOSS's own loader reads it
 * (lm_saes `SparseAutoEncoder.from_config`), so activations are in raw residual units:
 * dataset-wise scaling folded into the parameters, decoder columns made unit-norm, then
 * `hidden_pre > jump_relu_threshold`.
 */
export const llamaScopeLoader: SaeLoader = {
  format: 'llama-scope',
  kind: 'folder',
  async detect(path) {
    return (await pathKind(join(path, CONFIG))) === 'file' && (await findWeights(path)) !== null;
  },
  async load(path) {
    const cfgPath = join(path, CONFIG);
    const cfg = await JsonConfigFile.read(cfgPath);
    const weightsFile = await findWeights(path);
    if (weightsFile === null) throw new FacetError('SAE_FILE_INVALID', `${path} has ${CONFIG} but no .safetensors weights (looked for checkpoints/final.safetensors). Download the checkpoint too.`, { file: path });
    const weightsPath = join(path, weightsFile);
    const dIn = cfg.integer('d_model');
    const dSae = cfg.integer('d_sae');
    const notes: string[] = [];
    const transforms: string[] = [];
    const hookIn = cfg.string('hook_point_in') ?? cfg.string('hook_point');
    const hookOut = cfg.string('hook_point_out');
    requireResidualHook(cfgPath, hookIn, hookOut);
    if (cfg.fields['use_glu_encoder'] === true) throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: use_glu_encoder is set; Facet encodes plain linear encoders only. Use a Llama Scope SAE without a GLU encoder.`, { file: cfgPath });
    const actFn = (cfg.string('act_fn') ?? 'jumprelu').toLowerCase();
    const jumpThreshold = cfg.number('jump_relu_threshold');
    let architecture: SaeArchitectureName;
    // lm_saes from_config: a topk SAE with jump_relu_threshold > 0 is converted to jumprelu for inference.
    if (actFn === 'jumprelu' || (actFn === 'topk' && jumpThreshold !== null && jumpThreshold > 0)) architecture = 'jumprelu';
    else if (actFn === 'topk') architecture = 'topk';
    else if (actFn === 'relu') architecture = 'standard';
    else throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: act_fn '${actFn}' is not supported (jumprelu, topk, relu).`, { file: cfgPath, act_fn: actFn });
    if (architecture === 'jumprelu' && jumpThreshold === null) throw new FacetError('SAE_FILE_INVALID', `${cfgPath}: act_fn is jumprelu but jump_relu_threshold is missing.`, { file: cfgPath });

    const header = await readSafetensorsHeader(weightsPath);
    const encoder = await readShapedTensor(header, ['encoder.weight'], [dSae, dIn], true);
    const decoder = await readShapedTensor(header, ['decoder.weight'], [dIn, dSae], true);
    const bEnc = await readShapedTensor(header, ['encoder.bias'], [dSae], true);
    const bDec = await readShapedTensor(header, ['decoder.bias'], [dIn], true);
    const wEnc = transposeMatrix(encoder.data, dSae, dIn);
    const wDec = transposeMatrix(decoder.data, dIn, dSae);

    let normalisation: SaeNormalisation = { kind: 'none' };
    const normKind = cfg.string('norm_activation') ?? 'dataset-wise';
    if (normKind === 'dataset-wise') {
      const norms = cfg.object('dataset_average_activation_norm');
      const normIn = norms?.number('in') ?? null;
      const normOut = norms?.number('out') ?? normIn;
      if (normIn === null || normIn <= 0 || normOut === null || normOut <= 0) throw new FacetError('SAE_FILE_INVALID', `${cfgPath}: norm_activation is dataset-wise but dataset_average_activation_norm.in/out is missing. Re-download hyperparams.json.`, { file: cfgPath });
      const sIn = Math.sqrt(dIn) / normIn;
      const sOut = Math.sqrt(dIn) / normOut;
      // lm_saes standardize_parameters_of_dataset_activation_scaling: encoder.bias / s_in, decoder.weight × s_in / s_out, decoder.bias / s_out; then norm_activation = "inference" (raw units).
      for (let j = 0; j < dSae; j++) bEnc.data[j] = (bEnc.data[j] as number) / sIn;
      for (let i = 0; i < wDec.length; i++) wDec[i] = ((wDec[i] as number) * sIn) / sOut;
      for (let i = 0; i < dIn; i++) bDec.data[i] = (bDec.data[i] as number) / sOut;
      transforms.push('openmoss-dataset-norm');
      notes.push(`Dataset-wise normalisation (s_in = √d_model / ${normIn} = ${sIn.toPrecision(6)}) folded into the biases as OpenMOSS does at load: activations are in raw residual units, compared with jump_relu_threshold as stored.`);
    } else if (normKind === 'token-wise') {
      normalisation = { kind: 'row-norm' };
    } else if (normKind !== 'inference' && normKind !== 'none') {
      throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: norm_activation '${normKind}' is not supported (dataset-wise, token-wise, inference, none).`, { file: cfgPath });
    }
    if (cfg.fields['sparsity_include_decoder_norm'] !== false) {
      // lm_saes transform_to_unit_decoder_norm: decoder columns to unit norm, encoder rows and bias times the old norm (idempotent).
      foldDecoderNorms(wEnc, bEnc.data, wDec, dIn, dSae);
      transforms.push('fold-decoder-norms');
    }
    const { layer, note } = layerFromHookName(hookIn);
    if (note !== null) notes.push(note);
    const modelFamily = (await readModelName(join(path, 'lm_config.json'))) ?? cfg.string('model_name') ?? cfg.string('lm_name');

    const weights: SaeWeights = { wEnc, bEnc: bEnc.data, wDec, bDec: bDec.data, threshold: null };
    const config: SaeConfig = {
      architecture,
      dIn,
      dSae,
      k: architecture === 'topk' ? cfg.integer('top_k') : null,
      normalisation,
      tied: false,
      applyBDecToInput: cfg.fields['apply_decoder_bias_to_pre_encoder'] === true && cfg.fields['use_decoder_bias'] !== false,
      threshold: architecture === 'jumprelu' ? jumpThreshold : null,
      modelFamily,
      layer,
      source: {
        format: 'llama-scope',
        path,
        files: [CONFIG, weightsFile, ...((await pathKind(join(path, 'lm_config.json'))) === 'file' ? ['lm_config.json'] : [])],
        hookName: hookIn,
        notes,
        transforms,
        activationUnits: normalisation.kind === 'row-norm' ? 'units of each input rescaled to norm √d_model (token-wise)' : 'raw residual units, decoder columns unit-norm (OpenMOSS inference convention)',
      },
      hash: await hashFiles([weightsPath]),
    };
    const origins = {
      wEnc: { file: weightsPath, tensor: 'encoder.weight' },
      bEnc: { file: weightsPath, tensor: 'encoder.bias' },
      wDec: { file: weightsPath, tensor: 'decoder.weight' },
      bDec: { file: weightsPath, tensor: 'decoder.bias' },
    };
    validateSaeWeights(config, weights, origins);
    return { config, weights, origins } satisfies LoadedSae;
  },
};

/** `model_name` from `lm_config.json`, or null when the file is absent or names none. */
async function readModelName(path: string): Promise<string | null> {
  if ((await pathKind(path)) !== 'file') return null;
  return (await JsonConfigFile.read(path)).string('model_name');
}
