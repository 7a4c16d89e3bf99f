import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import type { SaeArchitectureName, SaeConfig } from '../SaeConfig.ts';
import { validateSaeWeights, type SaeWeights } from '../SaeWeights.ts';
import type { LoadedSae, SaeLoader } from './SaeLoader.ts';
import { transposeMatrix } from '../../arrays/transposeMatrix.ts';
import { readSafetensorsHeader } from '../formats/SafetensorsFile.ts';
import { hashFiles } from './hashFiles.ts';
import { JsonConfigFile } from './JsonConfigFile.ts';
import { layerFromHookName } from './layerFromHookName.ts';
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
 * Llama Scope layout: `hyperparams.json` (d_model, d_sae, act_fn, jump_relu_threshold, top_k,
 * norm_activation, dataset_average_activation_norm {in, out}, hook_point_in) and a safetensors
 * file with `encoder.weight` [d_sae, d_model], `encoder.bias`, `decoder.weight` [d_model, d_sae],
 * `decoder.bias`. Dataset-wise normalisation scales inputs by s = √d_model / norm_in; the scalar
 * JumpReLU threshold applies to pre-activations of the scaled input and is read as
 * `jump_relu_threshold × s`, the reading SAELens uses for these checkpoints.
 */
export const llamaScopeLoader: SaeLoader = {
  format: 'llama-scope',
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
    const actFn = cfg.string('act_fn') ?? 'jumprelu';
    let architecture: SaeArchitectureName;
    if (actFn === 'jumprelu') architecture = 'jumprelu';
    else if (actFn === 'topk') architecture = 'topk';
    else if (actFn === 'relu') architecture = 'standard';
    else throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: act_fn '${actFn}' is not supported (jumprelu, topk, relu).`, { file: cfgPath, act_fn: actFn });

    let scale = 1;
    const normKind = cfg.string('norm_activation') ?? 'dataset-wise';
    const normIn = cfg.object('dataset_average_activation_norm')?.number('in') ?? null;
    if (normKind === 'dataset-wise') {
      if (normIn === null || normIn <= 0) throw new FacetError('SAE_FILE_INVALID', `${cfgPath}: norm_activation is dataset-wise but dataset_average_activation_norm.in is missing. Re-download hyperparams.json.`, { file: cfgPath });
      scale = Math.sqrt(dIn) / normIn;
    } else if (normKind !== 'inference' && normKind !== 'none') {
      throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: norm_activation '${normKind}' is not supported (dataset-wise).`, { file: cfgPath });
    }
    const threshold = architecture === 'jumprelu' ? cfg.number('jump_relu_threshold') : null;
    if (architecture === 'jumprelu' && threshold === null) throw new FacetError('SAE_FILE_INVALID', `${cfgPath}: act_fn is jumprelu but jump_relu_threshold is missing.`, { file: cfgPath });
    if (threshold !== null && scale !== 1) notes.push(`JumpReLU threshold ${threshold} × input scale ${scale.toPrecision(6)} applied to pre-activations of the scaled input.`);
    if (cfg.fields['sparsity_include_decoder_norm'] === true) notes.push('sparsity_include_decoder_norm is set: the released weights are read with decoder norms already folded in, as SAELens reads them.');
    const hookName = cfg.string('hook_point_in');
    const { layer, note } = layerFromHookName(hookName);
    if (note !== null) notes.push(note);

    const header = await readSafetensorsHeader(weightsPath);
    const encoder = await readShapedTensor(header, ['encoder.weight'], [dSae, dIn], true);
    const decoder = await readShapedTensor(header, ['decoder.weight'], [dIn, dSae], true);
    const bEnc = await readShapedTensor(header, ['encoder.bias'], [dSae], true);
    const bDec = await readShapedTensor(header, ['decoder.bias'], [dIn], true);
    const weights: SaeWeights = { wEnc: transposeMatrix(encoder.data, dSae, dIn), bEnc: bEnc.data, wDec: transposeMatrix(decoder.data, dIn, dSae), bDec: bDec.data, threshold: null };
    const config: SaeConfig = {
      architecture,
      dIn,
      dSae,
      k: architecture === 'topk' ? cfg.integer('top_k') : null,
      normalisation: scale === 1 ? { kind: 'none' } : { kind: 'scale', factor: scale },
      tied: false,
      applyBDecToInput: cfg.fields['apply_decoder_bias_to_pre_encoder'] === true,
      threshold: threshold === null ? null : threshold * scale,
      modelFamily: cfg.string('model_name') ?? cfg.string('lm_name'),
      layer,
      source: { format: 'llama-scope', path, files: [CONFIG, weightsFile], hookName, notes },
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
