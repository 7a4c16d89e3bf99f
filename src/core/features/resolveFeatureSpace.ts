import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { FacetError } from '../../shared/FacetError.ts';
import type { DatasetSummary } from '../../shared/datasetTypes.ts';
import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import { resolveModel } from '../models/ModelService.ts';
import { getSaeArchitecture } from '../sae/SaeArchitecture.ts';
import { SaeRegistry } from '../sae/SaeRegistry.ts';
import type { SaeRecord } from '../sae/SaeRepository.ts';
import type { Store } from '../store/Store.ts';
import type { FeatureEncodeMode, NewFeatureSpace } from './FeatureIndexRepository.ts';

/** What identifies a feature space, as a request gives it (names, not hashes). */
export interface FeatureSpaceParams {
  /** Registered model name or a .gguf path. */
  model: string;
  /** Registered SAE: name, id or hash prefix. */
  sae: string;
  /** llama.cpp 0-based `l_out` block. Defaults to the SAE's layer. */
  layer?: number;
  /** For TopK SAEs: `topk` (the paper's text) or `dense-relu` (ReLU over all features, the released code). Ignored for other architectures. Defaults to `topk`. */
  encode?: 'topk' | 'dense-relu';
  /** Wrap samples in the model's chat template. Defaults to true. */
  template?: boolean;
  /** Tokens per templated sample (BOS and template included). Defaults to 512 (the paper). */
  maxTokens?: number;
  /** KV cache type of the capture. Defaults to `f16`. */
  kv?: 'f16' | 'f32';
  /** Store g_i only when above this value; coverage refuses thresholds below it. Defaults to 0. */
  minActivation?: number;
}

/** Only the fields of `request` that name a feature space (for passing a larger request on to indexing or coverage). */
export function featureSpaceParams(request: FeatureSpaceParams): FeatureSpaceParams {
  const out: FeatureSpaceParams = { model: request.model, sae: request.sae };
  if (request.layer !== undefined) out.layer = request.layer;
  if (request.encode !== undefined) out.encode = request.encode;
  if (request.template !== undefined) out.template = request.template;
  if (request.maxTokens !== undefined) out.maxTokens = request.maxTokens;
  if (request.kv !== undefined) out.kv = request.kv;
  if (request.minActivation !== undefined) out.minActivation = request.minActivation;
  return out;
}

export interface ResolvedFeatureSpace {
  space: NewFeatureSpace;
  modelPath: string;
  sae: SaeRecord;
}

/** Resolves names to the identity of a feature space (no model is loaded). */
export async function resolveFeatureSpace(store: Store, home: string, params: FeatureSpaceParams): Promise<ResolvedFeatureSpace> {
  const model = await resolveModel(store, params.model);
  let modelHash = model.record?.contentHash;
  if (modelHash === undefined) {
    const info = await stat(model.path);
    modelHash = `${model.path}:${info.size}:${info.mtimeMs}`;
  }
  const sae = new SaeRegistry(store, home).get(params.sae);
  const layer = params.layer ?? sae.layer;
  if (layer === null || layer === undefined) {
    throw new FacetError('INVALID_ARGUMENT', `SAE '${sae.name}' does not say which layer it reads. Pass --layer (llama.cpp 0-based l_out index), or import the SAE again with --layer.`, { sae: sae.name });
  }
  if (!Number.isInteger(layer) || layer < 0) throw new FacetError('LAYER_OUT_OF_RANGE', `--layer must be a 0-based block index ≥ 0 (got ${layer}).`, { layer });
  const topKLike = getSaeArchitecture(sae.config.architecture).rowK(sae.config) !== null;
  const encodeMode: FeatureEncodeMode = topKLike ? (params.encode ?? 'topk') : 'architecture';
  if (params.encode !== undefined && params.encode !== 'topk' && params.encode !== 'dense-relu') {
    throw new FacetError('INVALID_ARGUMENT', `--encode must be topk or dense-relu (got '${String(params.encode)}').`);
  }
  const template = params.template ?? true;
  const maxTokens = params.maxTokens ?? 512;
  if (!Number.isInteger(maxTokens) || maxTokens < 2) throw new FacetError('INVALID_ARGUMENT', `--max-tokens must be an integer ≥ 2 (got ${maxTokens}).`);
  const kv = params.kv ?? 'f16';
  if (kv !== 'f16' && kv !== 'f32') throw new FacetError('INVALID_ARGUMENT', `--kv must be f16 or f32 (got '${String(kv)}').`);
  const minActivation = params.minActivation ?? 0;
  if (!Number.isFinite(minActivation) || minActivation < 0) throw new FacetError('INVALID_ARGUMENT', `The storage floor must be a number ≥ 0 (got ${minActivation}).`);
  const identity = { model: modelHash, layer, sae: sae.hash, encode: encodeMode, template, maxTokens, kv, minActivation };
  return {
    modelPath: model.path,
    sae,
    space: {
      key: JSON.stringify(identity),
      saeId: sae.id,
      modelHash,
      modelName: model.record?.name ?? basename(model.path).replace(/\.gguf$/i, ''),
      layer,
      encodeMode,
      template,
      maxTokens,
      kv,
      minActivation,
      dSae: sae.dSae,
    },
  };
}

/** A registered dataset by name or id, ready for indexing. */
export function resolveIndexDataset(store: Store, reference: string): DatasetSummary {
  const repository = new DatasetRepository(store.db);
  const dataset = repository.findByName(reference) ?? (/^\d+$/.test(reference) ? repository.get(Number(reference)) : undefined);
  if (dataset === undefined) {
    const names = repository.list().map((entry) => entry.name);
    throw new FacetError('NOT_FOUND', `No dataset named '${reference}'. ${names.length > 0 ? `Registered datasets: ${names.join(', ')}.` : ''} Import it first with 'facet datasets import <file> --name ${reference}'.`, { reference });
  }
  if (dataset.state !== 'ready') {
    throw new FacetError('DATASET_EMPTY', `Dataset '${dataset.name}' is still importing (or its import was cut off). Wait for it, or resume it with 'facet jobs resume'.`, { name: dataset.name });
  }
  return dataset;
}
