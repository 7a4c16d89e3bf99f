import { basename, dirname, join } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import type { SaeConfig } from '../SaeConfig.ts';
import { validateSaeWeights, type SaeWeights } from '../SaeWeights.ts';
import type { LoadedSae, SaeLoader } from './SaeLoader.ts';
import { transposeMatrix } from '../../arrays/transposeMatrix.ts';
import { readSafetensorsHeader } from '../formats/SafetensorsFile.ts';
import { hashFiles } from './hashFiles.ts';
import { JsonConfigFile } from './JsonConfigFile.ts';
import { layerFromHookName } from './layerFromHookName.ts';
import { requireResidualHook } from './requireResidualHook.ts';
import { pathKind } from './pathKind.ts';
import { readShapedTensor } from './readShapedTensor.ts';

const CONFIG = 'cfg.json';
const WEIGHTS = 'sae.safetensors';

/**
 * EleutherAI sparsify layout: one folder per hook point (`layers.15`) with `cfg.json` (d_in, k,
 * num_latents or expansion_factor, activation) and `sae.safetensors` holding `encoder.weight`
 * [d_sae, d_in] (transposed relative to Facet), `encoder.bias`, `W_dec` [d_sae, d_in], `b_dec`.
 * Encoding subtracts b_dec, applies ReLU and keeps the top K. The parent folder's `config.json`
 * may name the model.
 */
export const sparsifyLoader: SaeLoader = {
  format: 'sparsify',
  kind: 'folder',
  async detect(path) {
    return (await pathKind(join(path, CONFIG))) === 'file' && (await pathKind(join(path, WEIGHTS))) === 'file';
  },
  async load(path) {
    const cfgPath = join(path, CONFIG);
    const weightsPath = join(path, WEIGHTS);
    const cfg = await JsonConfigFile.read(cfgPath);
    const dIn = cfg.integer('d_in');
    const k = cfg.integer('k');
    const latents = (cfg.number('num_latents') ?? 0) > 0 ? cfg.integer('num_latents') : null;
    const dSae = latents ?? dIn * cfg.integer('expansion_factor');
    const activation = cfg.string('activation') ?? 'topk';
    if (activation !== 'topk') throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: activation '${activation}' is not supported; Facet encodes sparsify TopK SAEs.`, { file: cfgPath, activation });
    const notes: string[] = [];
    const folder = basename(path);
    // sparsify names each SAE's folder after its hookpoint (sparsify/trainer.py saves to <run>/<hookpoint>).
    if (cfg.fields['transcode'] === true || cfg.fields['skip_connection'] === true) {
      throw new FacetError(
        'SAE_ARCH_UNKNOWN',
        `${cfgPath}: this is a sparsify ${cfg.fields['transcode'] === true ? 'transcoder' : 'SAE with a skip connection'} at hookpoint ${folder} (it predicts the module's output from its input), not an SAE of one residual stream. Facet captures only residual-stream outputs (llama.cpp l_out); use a plain sparsify SAE on layers.N.`,
        { file: cfgPath, hook: folder },
      );
    }
    requireResidualHook(cfgPath, folder);
    const hookName = /layers[._]\d+$/.test(folder) ? folder : null;
    const { layer, note } = layerFromHookName(hookName);
    if (note !== null) notes.push(note);
    let modelFamily: string | null = null;
    const parentConfig = join(dirname(path), 'config.json');
    if ((await pathKind(parentConfig)) === 'file') {
      const run = await JsonConfigFile.read(parentConfig).catch(() => null);
      modelFamily = run?.string('model') ?? null;
    }

    const header = await readSafetensorsHeader(weightsPath);
    const encoder = await readShapedTensor(header, ['encoder.weight'], [dSae, dIn], true);
    const bEnc = await readShapedTensor(header, ['encoder.bias'], [dSae], true);
    const bDec = await readShapedTensor(header, ['b_dec'], [dIn], true);
    const decoderShape = header.tensors.get('W_dec')?.shape ?? null;
    // Some exports store W_dec transposed; accept either orientation when they differ.
    const decoderTransposed = decoderShape !== null && dIn !== dSae && decoderShape[0] === dIn && decoderShape[1] === dSae;
    const decoder = await readShapedTensor(header, ['W_dec'], decoderTransposed ? [dIn, dSae] : [dSae, dIn], true);
    const weights: SaeWeights = {
      wEnc: transposeMatrix(encoder.data, dSae, dIn),
      bEnc: bEnc.data,
      wDec: decoderTransposed ? transposeMatrix(decoder.data, dIn, dSae) : decoder.data,
      bDec: bDec.data,
      threshold: null,
    };
    const config: SaeConfig = {
      architecture: 'topk',
      dIn,
      dSae,
      k,
      normalisation: { kind: 'none' },
      tied: false,
      applyBDecToInput: true,
      threshold: null,
      modelFamily,
      layer,
      source: { format: 'sparsify', path, files: [CONFIG, WEIGHTS], hookName, notes, activationUnits: 'model units (sparsify encodes the raw residual)' },
      hash: await hashFiles([weightsPath]),
    };
    const origins = {
      wEnc: { file: weightsPath, tensor: 'encoder.weight' },
      bEnc: { file: weightsPath, tensor: 'encoder.bias' },
      wDec: { file: weightsPath, tensor: 'W_dec' },
      bDec: { file: weightsPath, tensor: 'b_dec' },
    };
    validateSaeWeights(config, weights, origins);
    return { config, weights, origins } satisfies LoadedSae;
  },
};
