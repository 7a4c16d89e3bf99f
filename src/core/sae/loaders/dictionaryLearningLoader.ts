import { join } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import { transposeMatrix } from '../../arrays/transposeMatrix.ts';
import { TorchCheckpoint, isTorchTensorRef, type TorchTensorRef } from '../formats/TorchCheckpoint.ts';
import { MAX_SAE_LAYER, type SaeArchitectureName, type SaeConfig } from '../SaeConfig.ts';
import { validateSaeWeights, type SaeWeights } from '../SaeWeights.ts';
import { hashFiles } from './hashFiles.ts';
import { JsonConfigFile } from './JsonConfigFile.ts';
import { pathKind } from './pathKind.ts';
import { requireResidualHook } from './requireResidualHook.ts';
import type { LoadedSae, SaeLoader } from './SaeLoader.ts';
import { describeStateDict } from './torchSaeLayout.ts';

const WEIGHTS = 'ae.pt';
const CONFIG = 'config.json';

/** The dictionary classes Facet encodes, and the state-dict keys each saves. */
const DICT_CLASSES: Record<string, readonly string[]> = {
  BatchTopKSAE: ['b_dec', 'decoder.weight', 'encoder.bias', 'encoder.weight', 'k', 'threshold'],
  AutoEncoderTopK: ['b_dec', 'decoder.weight', 'encoder.bias', 'encoder.weight', 'k', 'threshold'],
  JumpReluAutoEncoder: ['W_dec', 'W_enc', 'b_dec', 'b_enc', 'threshold'],
};

/**
 * dictionary_learning (saprmarks/dictionary_learning; the format of andyrdt's and adamkarvonen's
 * instruct-model SAEs): a trainer folder with `ae.pt` (`torch.save` of the dictionary's state
 * dict) and `config.json` `{trainer: {dict_class, activation_dim, dict_size, k, layer, lm_name,
 * submodule_name}, buffer: {io}}`. Encoding as each class's `encode` does by default:
 * - BatchTopKSAE: relu(encoder(x − b_dec)) kept where > threshold (use_threshold=True);
 * - AutoEncoderTopK: per-row top k of relu(encoder(x − b_dec)) (use_threshold=False);
 * - JumpReluAutoEncoder: relu(pre · (pre > threshold)), pre = x·W_enc + b_enc.
 * `layer` L hooks `model.layers[L]`'s output (llama.cpp l_out-L), its input when `io` is `in`.
 */
export const dictionaryLearningLoader: SaeLoader = {
  format: 'dictionary-learning',
  kind: 'folder',
  async detect(path) {
    if ((await pathKind(join(path, WEIGHTS))) !== 'file' || (await pathKind(join(path, CONFIG))) !== 'file') return false;
    return (await JsonConfigFile.read(join(path, CONFIG)).catch(() => null))?.object('trainer') != null;
  },
  async load(path) {
    const cfgPath = join(path, CONFIG);
    const weightsPath = join(path, WEIGHTS);
    const cfg = await JsonConfigFile.read(cfgPath);
    const trainer = cfg.object('trainer');
    if (trainer === null) throw new FacetError('SAE_FILE_INVALID', `${cfgPath} has no "trainer" object; dictionary_learning writes {"trainer": {...}, "buffer": {...}}. Use the config.json saved next to ae.pt.`, { file: cfgPath });
    const dictClass = trainer.string('dict_class') ?? '';
    const expectedKeys = DICT_CLASSES[dictClass];
    if (expectedKeys === undefined) {
      throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: dict_class '${dictClass}' is not one Facet encodes (${Object.keys(DICT_CLASSES).join(', ')}).`, { file: cfgPath, dict_class: dictClass });
    }
    const dIn = trainer.integer('activation_dim');
    const dSae = trainer.integer('dict_size');
    const submodule = trainer.string('submodule_name');
    requireResidualHook(cfgPath, submodule);
    const io = cfg.object('buffer')?.string('io') ?? 'out';
    if (io !== 'out' && io !== 'in') throw new FacetError('SAE_ARCH_UNKNOWN', `${cfgPath}: buffer.io '${io}' reads both a submodule's input and output (a transcoder); Facet encodes residual-stream SAEs only.`, { file: cfgPath, io });
    const notes: string[] = [];
    const rawLayer = trainer.number('layer');
    let layer: number | null = null;
    if (rawLayer !== null && Number.isInteger(rawLayer) && rawLayer >= 0 && rawLayer <= MAX_SAE_LAYER) {
      layer = io === 'out' ? rawLayer : rawLayer - 1;
      if (layer < 0) layer = null;
      notes.push(io === 'out' ? `layer ${rawLayer} (output of model.layers[${rawLayer}]): llama.cpp l_out-${rawLayer}.` : `layer ${rawLayer} input (buffer.io "in"): the residual leaving layer ${rawLayer - 1}.`);
    } else {
      notes.push('config.json names no layer; give --layer.');
    }

    const checkpoint = await TorchCheckpoint.open(weightsPath);
    try {
      const root = checkpoint.root;
      // training.py backups wrap the state dict as {"ae": …, "optimizer": …}; the final ae.pt is the bare state dict.
      const source = root instanceof Map && root.get('ae') instanceof Map ? (root.get('ae') as Map<unknown, unknown>) : root;
      if (!(source instanceof Map)) throw new FacetError('SAE_FILE_INVALID', `${weightsPath} does not hold a state dict. Give the ae.pt dictionary_learning saves at the end of training.`, { file: weightsPath });
      const state = new Map<string, TorchTensorRef>();
      const others = new Map<string, string>();
      for (const [key, value] of source) {
        if (isTorchTensorRef(value)) state.set(String(key), value);
        else others.set(String(key), typeof value);
      }
      const found = [...state.keys()].sort().join(',');
      if (found !== [...expectedKeys].sort().join(',')) {
        throw new FacetError(
          'SAE_FORMAT_UNKNOWN',
          `${weightsPath} holds ${describeStateDict({ state, config: null, others })}, but a ${dictClass} saves ${expectedKeys.join(', ')}. Check that config.json belongs to this ae.pt.`,
          { file: weightsPath, keys: [...state.keys()] },
        );
      }
      const tensor = (name: string, shape: number[]): TorchTensorRef => {
        const ref = state.get(name) as TorchTensorRef;
        if (ref.shape.length !== shape.length || ref.shape.some((d, i) => d !== shape[i])) {
          throw new FacetError('SAE_SHAPE_MISMATCH', `${weightsPath}: tensor '${name}' has shape [${ref.shape.join(', ')}] but activation_dim=${dIn}, dict_size=${dSae} need [${shape.join(', ')}]. Check that config.json belongs to this ae.pt.`, { file: weightsPath, tensor: name });
        }
        return ref;
      };
      let architecture: SaeArchitectureName;
      let k: number | null = null;
      let scalarThreshold: number | null = null;
      let weights: SaeWeights;
      if (dictClass === 'JumpReluAutoEncoder') {
        architecture = 'jumprelu';
        weights = {
          wEnc: await checkpoint.readTensor(tensor('W_enc', [dIn, dSae]), 'W_enc'),
          bEnc: await checkpoint.readTensor(tensor('b_enc', [dSae]), 'b_enc'),
          wDec: await checkpoint.readTensor(tensor('W_dec', [dSae, dIn]), 'W_dec'),
          bDec: await checkpoint.readTensor(tensor('b_dec', [dIn]), 'b_dec'),
          threshold: await checkpoint.readTensor(tensor('threshold', [dSae]), 'threshold'),
        };
      } else {
        k = (await checkpoint.readNumbers(tensor('k', []), 'k'))[0] as number;
        const threshold = (await checkpoint.readNumbers(tensor('threshold', []), 'threshold'))[0] as number;
        const configK = trainer.number('k');
        if (configK !== null && configK !== k) notes.push(`config.json says k=${configK}, the weights' k buffer says ${k}; the buffer is used, as from_pretrained does.`);
        if (dictClass === 'BatchTopKSAE') {
          if (!(threshold >= 0)) {
            throw new FacetError('SAE_FILE_INVALID', `${weightsPath}: this BatchTopKSAE's threshold is ${threshold}, i.e. never set in training, so its inference encoding (features above the threshold) keeps every positive feature. Use an SAE trained past threshold_start_step.`, { file: weightsPath, tensor: 'threshold' });
          }
          // batch_top_k.py BatchTopKSAE.encode(use_threshold=True): relu(pre) kept where > threshold.
          architecture = 'batchtopk';
          scalarThreshold = threshold;
          notes.push(`BatchTopK encodes with its global threshold ${threshold} (dictionary_learning's default use_threshold=True), not per-row TopK; trained with k=${String(k)}.`);
        } else {
          // top_k.py AutoEncoderTopK.encode(use_threshold=False): per-row top k of relu(pre).
          architecture = 'topk';
        }
        weights = {
          wEnc: transposeMatrix(await checkpoint.readTensor(tensor('encoder.weight', [dSae, dIn]), 'encoder.weight'), dSae, dIn),
          bEnc: await checkpoint.readTensor(tensor('encoder.bias', [dSae]), 'encoder.bias'),
          wDec: transposeMatrix(await checkpoint.readTensor(tensor('decoder.weight', [dIn, dSae]), 'decoder.weight'), dIn, dSae),
          bDec: await checkpoint.readTensor(tensor('b_dec', [dIn]), 'b_dec'),
          threshold: null,
        };
      }
      const config: SaeConfig = {
        architecture,
        dIn,
        dSae,
        k,
        normalisation: { kind: 'none' },
        tied: false,
        // JumpReluAutoEncoder sets apply_b_dec_to_input = False; the TopK classes encode x − b_dec.
        applyBDecToInput: dictClass !== 'JumpReluAutoEncoder',
        threshold: scalarThreshold,
        modelFamily: trainer.string('lm_name'),
        layer,
        source: {
          format: 'dictionary-learning',
          path,
          files: [CONFIG, WEIGHTS],
          hookName: submodule ?? (rawLayer !== null ? `layer ${rawLayer}` : null),
          notes,
          activationUnits: 'model units (dictionary_learning saves biases and threshold rescaled to raw activations)',
        },
        hash: await hashFiles([weightsPath]),
      };
      const names = dictClass === 'JumpReluAutoEncoder' ? ['W_enc', 'b_enc', 'W_dec', 'b_dec'] : ['encoder.weight', 'encoder.bias', 'decoder.weight', 'b_dec'];
      const origins = Object.fromEntries((['wEnc', 'bEnc', 'wDec', 'bDec'] as const).map((key, i) => [key, { file: weightsPath, tensor: names[i] as string }]));
      validateSaeWeights(config, weights, origins);
      return { config, weights, origins } satisfies LoadedSae;
    } finally {
      await checkpoint.close();
    }
  },
};
