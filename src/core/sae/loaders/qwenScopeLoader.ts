import { basename, dirname } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import { transposeMatrix } from '../../arrays/transposeMatrix.ts';
import { TorchCheckpoint, type TorchTensorRef } from '../formats/TorchCheckpoint.ts';
import { MAX_SAE_LAYER, type SaeConfig } from '../SaeConfig.ts';
import { validateSaeWeights, type SaeWeights } from '../SaeWeights.ts';
import { hashFiles } from './hashFiles.ts';
import { pathKind } from './pathKind.ts';
import type { LoadedSae, SaeLoader } from './SaeLoader.ts';
import { classifyStateDict, detectTorchSaeLayout, torchStateDict, unknownTorchSaeError } from './torchSaeLayout.ts';

/** `SAE-Res-Qwen3-8B-Base-W64K-L0_50`: the release folder names the model, the width and K. */
const RELEASE = /^SAE-Res-(.+?)-W\d+K?-L0_(\d+)$/i;

/**
 * Qwen-Scope (model card of `Qwen/SAE-Res-*`): one `layer<n>.sae.pt` per decoder layer, a
 * `torch.save` dict of `W_enc` [d_sae, d_model], `W_dec` [d_model, d_sae], `b_enc` [d_sae] and
 * `b_dec` [d_model]; a TopK SAE on the residual stream output of decoder layer n (llama.cpp
 * l_out-n) whose K is only in the release name (`…-L0_50`). Encoding as the model card's
 * `get_feature_acts`: pre = x·W_encᵀ + b_enc, the K largest kept as they are (no ReLU).
 */
export const qwenScopeLoader: SaeLoader = {
  format: 'qwen-scope',
  kind: 'file',
  async detect(path) {
    return /\.pt$/i.test(path) && (await pathKind(path)) === 'file' && (await detectTorchSaeLayout(path)) === 'qwen-scope';
  },
  async load(path) {
    const checkpoint = await TorchCheckpoint.open(path);
    try {
      const dict = torchStateDict(checkpoint);
      const layout = classifyStateDict(dict, basename(path));
      if (layout === 'paper-pth') throw new FacetError('SAE_FORMAT_UNKNOWN', `${path} is the paper's .pth checkpoint, not a Qwen-Scope layer file. Import it with --format paper-pth (or without --format).`, { file: path, format: layout });
      if (layout !== 'qwen-scope') throw await unknownTorchSaeError(path);
      const release = RELEASE.exec(basename(dirname(path)));
      if (release === null) {
        throw new FacetError(
          'SAE_FILE_INVALID',
          `${path} is a Qwen-Scope layer file, but Qwen-Scope keeps K only in its release folder name (SAE-Res-<model>-W<width>-L0_<K>), and this file sits in '${basename(dirname(path))}'. Keep the file in the folder the release downloads to.`,
          { file: path },
        );
      }
      const layerMatch = /^layer(\d+)\.sae\.pt$/i.exec(basename(path));
      const notes: string[] = [];
      let layer: number | null = null;
      if (layerMatch !== null && Number(layerMatch[1]) <= MAX_SAE_LAYER) {
        layer = Number(layerMatch[1]);
        notes.push(`Qwen-Scope layer${layer} reads the residual stream after decoder layer ${layer}: llama.cpp l_out-${layer}.`);
      } else {
        notes.push('The file name carries no layer<n>; give --layer.');
      }
      const tensor = (name: string): TorchTensorRef => dict.state.get(name) as TorchTensorRef;
      const [dSae, dIn] = tensor('W_enc').shape as [number, number];
      const k = Number(release[2]);
      notes.push(`K=${k} from the release name ${basename(dirname(path))}; the K largest pre-activations are kept as they are (negative ones too), as the model card encodes. Sparse outputs and coverage count positive activations only.`);
      const weights: SaeWeights = {
        // Qwen-Scope stores W_enc as [d_sae, d_model] and W_dec as [d_model, d_sae]: both transposed relative to Facet.
        wEnc: transposeMatrix(await checkpoint.readTensor(tensor('W_enc'), 'W_enc'), dSae, dIn),
        bEnc: await checkpoint.readTensor(tensor('b_enc'), 'b_enc'),
        wDec: transposeMatrix(await checkpoint.readTensor(tensor('W_dec'), 'W_dec'), dIn, dSae),
        bDec: await checkpoint.readTensor(tensor('b_dec'), 'b_dec'),
        threshold: null,
      };
      const config: SaeConfig = {
        architecture: 'topk',
        dIn,
        dSae,
        k,
        // Model card get_feature_acts: pre_acts.topk(K) values scattered as they are, no ReLU and no b_dec subtracted.
        signedTopK: true,
        normalisation: { kind: 'none' },
        tied: false,
        applyBDecToInput: false,
        threshold: null,
        modelFamily: `Qwen/${release[1] as string}`,
        layer,
        source: { format: 'qwen-scope', path, files: [], hookName: layerMatch !== null ? `layer${layerMatch[1] as string}` : null, notes, activationUnits: 'model units (Qwen-Scope encodes the raw residual)' },
        hash: await hashFiles([path]),
      };
      const origins = { wEnc: { file: path, tensor: 'W_enc' }, bEnc: { file: path, tensor: 'b_enc' }, wDec: { file: path, tensor: 'W_dec' }, bDec: { file: path, tensor: 'b_dec' } };
      validateSaeWeights(config, weights, origins);
      return { config, weights, origins } satisfies LoadedSae;
    } finally {
      await checkpoint.close();
    }
  },
};
