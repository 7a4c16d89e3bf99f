import { basename } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import { TorchCheckpoint, type TorchTensorRef } from '../formats/TorchCheckpoint.ts';
import type { SaeConfig } from '../SaeConfig.ts';
import { validateSaeWeights, type SaeWeights } from '../SaeWeights.ts';
import type { LoadedSae, SaeLoader } from './SaeLoader.ts';
import { hashFiles } from './hashFiles.ts';
import { pathKind } from './pathKind.ts';
import { classifyStateDict, detectTorchSaeLayout, torchStateDict, unknownTorchSaeError } from './torchSaeLayout.ts';

/**
 * The paper's checkpoints (`TopK7_l16_h4096_epoch3.pth`): `torch.save({"weight": state_dict,
 * "config": {"d_inp", "d_hide", "topK"}})` with state dict W_enc [d_inp, d_hide], b_enc [d_hide],
 * b_dec [d_inp] and an all-ones `mask`; the decoder is tied (W_dec = W_encᵀ). Encoding:
 * pre = (x − b_dec)·W_enc + b_enc, top K, ReLU. A bare state dict is accepted too.
 * The `_l<N>` in the file name counts blocks from 1, so it maps to llama.cpp l_out-(N−1).
 */
export const paperCheckpointLoader: SaeLoader = {
  format: 'paper-pth',
  kind: 'file',
  async detect(path) {
    return /\.(pth|pt)$/i.test(path) && (await pathKind(path)) === 'file' && (await detectTorchSaeLayout(path)) === 'paper-pth';
  },
  async load(path) {
    const checkpoint = await TorchCheckpoint.open(path);
    try {
      const dict = torchStateDict(checkpoint);
      // The paper's TopKSAE state dict is recognised by its whole key set and shapes, not by the extension.
      const layout = classifyStateDict(dict, basename(path));
      if (layout !== 'paper-pth') {
        if (layout !== null) throw new FacetError('SAE_FORMAT_UNKNOWN', `${path} is a ${layout} checkpoint, not the paper's .pth. Import it with --format ${layout} (or without --format).`, { file: path, format: layout });
        throw await unknownTorchSaeError(path);
      }
      const state = dict.state;
      const savedConfig = dict.config ?? new Map<unknown, unknown>();
      const tensor = (name: string, required: boolean): TorchTensorRef | null => {
        const value = state.get(name);
        if (value === undefined && !required) return null;
        if (value === undefined) throw new FacetError('SAE_FILE_INVALID', `${path}: the state dict has no tensor '${name}' (keys: ${[...state.keys()].join(', ')}).`, { file: path, tensor: name });
        return value;
      };
      const wEncRef = tensor('W_enc', true) as TorchTensorRef;
      const [dIn, dSae] = wEncRef.shape as [number, number];
      const configDIn = savedConfig.get('d_inp');
      const configDSae = savedConfig.get('d_hide');
      if ((configDIn !== undefined && Number(configDIn) !== dIn) || (configDSae !== undefined && Number(configDSae) !== dSae)) {
        throw shapeError(path, 'W_enc', wEncRef.shape, `[${String(configDIn)}, ${String(configDSae)}] from its config`);
      }
      const bEncRef = tensor('b_enc', true) as TorchTensorRef;
      const bDecRef = tensor('b_dec', true) as TorchTensorRef;
      const notes: string[] = [];
      const maskRef = tensor('mask', false);
      if (maskRef !== null) {
        const mask = await checkpoint.readTensor(maskRef, 'mask');
        if (mask.some((v) => v !== 1)) notes.push('The checkpoint carries an edit mask that is not all ones; it only applies in editing mode and is ignored.');
      }
      const topK = savedConfig.get('topK');
      const isTopK = topK !== undefined || /^topk/i.test(basename(path));
      const k = isTopK ? Number(topK ?? 20) : null;
      if (isTopK && topK === undefined) notes.push('The checkpoint stores no topK; the paper default K=20 is used.');
      const layerMatch = /_l(\d+)(?:_|\.|$)/i.exec(basename(path));
      let layer: number | null = null;
      if (layerMatch) {
        const block = Number(layerMatch[1]);
        layer = block >= 1 ? block - 1 : null;
        notes.push(`File name says layer ${block} (blocks counted from 1): llama.cpp l_out-${block - 1}.`);
      } else {
        notes.push('The file name carries no _l<N> layer; give --layer.');
      }
      const weights: SaeWeights = {
        wEnc: await checkpoint.readTensor(wEncRef, 'W_enc'),
        bEnc: await checkpoint.readTensor(bEncRef, 'b_enc'),
        wDec: null,
        bDec: await checkpoint.readTensor(bDecRef, 'b_dec'),
        threshold: null,
      };
      const config: SaeConfig = {
        architecture: isTopK ? 'topk' : 'standard',
        dIn,
        dSae,
        k,
        normalisation: { kind: 'none' },
        tied: true,
        applyBDecToInput: true,
        threshold: null,
        modelFamily: null,
        layer,
        source: { format: 'paper-pth', path, files: [], hookName: layerMatch ? `l${layerMatch[1]}` : null, notes, activationUnits: 'model units (the paper feeds raw residuals; tied decoder)' },
        hash: await hashFiles([path]),
      };
      const origins = { wEnc: { file: path, tensor: 'W_enc' }, bEnc: { file: path, tensor: 'b_enc' }, bDec: { file: path, tensor: 'b_dec' } };
      validateSaeWeights(config, weights, origins);
      return { config, weights, origins } satisfies LoadedSae;
    } finally {
      await checkpoint.close();
    }
  },
};

function shapeError(path: string, tensor: string, shape: number[], expected: string): FacetError {
  return new FacetError('SAE_SHAPE_MISMATCH', `${path}: tensor '${tensor}' has shape [${shape.join(', ')}] but ${expected} is needed. The checkpoint's tensors do not fit together; use an unmodified checkpoint.`, { file: path, tensor, shape });
}
