import { basename } from 'node:path';
import { FacetError } from '../../../shared/FacetError.ts';
import { ProbeModel } from '../../llama/ProbeModel.ts';
import { resolveModel } from '../../models/ModelService.ts';
import type { Store } from '../../store/Store.ts';
import { SaeRegistry } from '../SaeRegistry.ts';
import type { SaeRecord } from '../SaeRepository.ts';
import { openDatasetSamples } from '../training/openDatasetSamples.ts';
import { ProbeActivationSource } from '../training/ProbeActivationSource.ts';
import { fitWarnings } from './fitWarnings.ts';
import { measureSaeQuality, type SaeQualityReport } from './measureSaeQuality.ts';

/** `facet sae check` as plain data. */
export interface SaeCheckParams {
  /** Registered SAE (name, id or hash prefix). */
  sae: string;
  /** Registered model name or a .gguf path. */
  model: string;
  /** Registered dataset (name or id) or a dataset file. */
  dataset: string;
  /** llama.cpp 0-based `l_out` index. Defaults to the SAE's recorded layer. */
  layer?: number;
  /** Tokens to check. Defaults to 16,384. */
  maxTokens?: number;
  /** Tokens per templated sample. Defaults to 512. */
  maxSampleTokens?: number;
  /** Defaults to true. */
  template?: boolean;
  threads?: number;
  /** Run the model on the CPU even where a GPU backend exists. */
  cpuModel?: boolean;
}

export interface SaeCheckResult extends SaeQualityReport {
  sae: SaeRecord;
  model: { name: string; path: string; quantization: string | null; blocks: number; dIn: number };
  dataset: string;
  layer: number;
}

/**
 * Runs a registered SAE over a model's residuals on a dataset and reports its fit (see
 * {@link measureSaeQuality}). A d_in mismatch is reported, not thrown, with no metrics.
 */
export async function runSaeCheck(store: Store, home: string, params: SaeCheckParams, control: { signal?: AbortSignal; onProgress?: (tokens: number, total: number) => void } = {}): Promise<SaeCheckResult> {
  const registry = new SaeRegistry(store, home);
  const record = registry.get(params.sae);
  const layer = params.layer ?? record.layer;
  if (layer === null || layer === undefined) {
    throw new FacetError('INVALID_ARGUMENT', `SAE '${record.name}' does not record its layer; pass --layer L (llama.cpp 0-based l_out index).`, { sae: record.name });
  }
  const model = await resolveModel(store, params.model);
  const modelName = model.record?.name ?? basename(model.path);
  const samples = await openDatasetSamples(store, params.dataset, control.signal);
  const probe = await ProbeModel.load(model.path, { gpu: params.cpuModel ? false : 'auto', ...(control.signal ? { signal: control.signal } : {}) });
  try {
    const info = probe.info;
    const modelSummary = { name: modelName, path: model.path, quantization: model.record?.quantization ?? null, blocks: info.nLayer, dIn: info.nEmbd };
    const fitContext = { layer, modelName, quantization: modelSummary.quantization, blockCount: info.nLayer };
    const base = { sae: record, model: modelSummary, dataset: samples.name, layer };
    if (info.nEmbd !== record.dIn) {
      // No need to load the weights or run the model: the widths cannot match.
      return { ...base, metrics: null, warnings: fitWarnings(record.config, null, info.nEmbd, fitContext) };
    }
    const context = await probe.createContext(params.threads !== undefined ? { threads: params.threads } : {});
    const source = new ProbeActivationSource({
      context,
      layer,
      sampleCount: samples.count,
      readSamples: samples.read,
      maxTokens: params.maxSampleTokens ?? 512,
      template: params.template ?? true,
    });
    const session = await registry.openSession(record, params.threads !== undefined ? { threads: params.threads } : {});
    try {
      const report = await measureSaeQuality(session, source, { maxTokens: params.maxTokens ?? 16_384, context: fitContext }, control);
      return { ...base, ...report };
    } finally {
      await session.dispose();
    }
  } finally {
    probe.dispose();
  }
}
