import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { FeatureContextToken, FeatureSpanContext, FeatureSpanContexts } from '../../shared/featureTypes.ts';
import { tokenCharacterRanges } from '../compare/pairTokenView.ts';
import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import { requireIndexedSpace } from '../interpret/requireIndexedSpace.ts';
import { ProbeModel } from '../llama/ProbeModel.ts';
import { SaeRegistry } from '../sae/SaeRegistry.ts';
import type { Store } from '../store/Store.ts';
import { FeatureIndexRepository } from './FeatureIndexRepository.ts';
import { decodeSampleFeatures } from './SampleFeatures.ts';

export interface FeatureSpanContextRequest {
  spaceId: number;
  feature: number;
  samples: readonly { datasetId: number; ordinal: number }[];
  /** Tokens shown before the peak (never before t0). Defaults to 24. */
  before?: number;
  /** Tokens shown after the peak. Defaults to 12. */
  after?: number;
  signal?: AbortSignal;
}

/** Windows already computed, by index, finish time, sample, feature and window size; oldest dropped first. */
const cache = new Map<string, FeatureSpanContext>();
const CACHE_ENTRIES = 4000;

function remember(key: string, context: FeatureSpanContext): void {
  cache.set(key, context);
  while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
}

/**
 * The tokens around a feature's peak in some of its samples, with the feature's code at every
 * token. The index keeps only g_i and its peak per sample (no residuals, no per-token codes), so
 * the samples not in the cache are run again: templated and truncated as the index did, captured
 * at the space's layer and SAE-encoded (every token t ≥ t0), one model load per call. Results are
 * kept in memory for the engine's lifetime, keyed by the index (and when it was finished), so a
 * feature opened again costs nothing.
 */
export async function featureSpanContexts(store: Store, home: string, request: FeatureSpanContextRequest): Promise<FeatureSpanContexts> {
  const repository = new FeatureIndexRepository(store.db);
  const space = repository.space(request.spaceId);
  if (space === undefined) throw new FacetError('NOT_FOUND', `No feature space with id ${request.spaceId}.`, { spaceId: request.spaceId });
  const { feature } = request;
  if (!Number.isInteger(feature) || feature < 0 || feature >= space.dSae) {
    throw new FacetError('INVALID_ARGUMENT', `Feature ${feature} does not exist: this SAE has features 0..${space.dSae - 1}.`, { feature, dSae: space.dSae });
  }
  const before = request.before ?? 24;
  const after = request.after ?? 12;
  const datasets = new DatasetRepository(store.db);
  const wanted = request.samples.map(({ datasetId, ordinal }) => {
    const index = repository.index(space.id, datasetId);
    if (index === undefined || index.state !== 'ready') throw new FacetError('INVALID_ARGUMENT', `Dataset ${datasetId} is not indexed in feature space ${space.id}. Pick a sample of an indexed dataset.`, { datasetId, spaceId: space.id });
    const stored = repository.sample(index.id, ordinal);
    if (stored === undefined) throw new FacetError('NOT_FOUND', `Sample ${ordinal} of dataset ${datasetId} is not in its index.`, { datasetId, ordinal });
    const decoded = decodeSampleFeatures(stored.entries);
    const at = decoded.features.indexOf(feature);
    return { datasetId, ordinal, storedPeak: at < 0 ? null : decoded.peaks[at]!, key: `${index.id}@${index.finishedAt}|${ordinal}|${feature}|${before}|${after}` };
  });
  const missing = wanted.filter((sample) => !cache.has(sample.key));
  const started = performance.now();
  if (missing.length > 0) {
    const { modelPath } = await requireIndexedSpace(store, home, { spaceId: space.id });
    const registry = new SaeRegistry(store, home);
    const model = await ProbeModel.load(modelPath, { gpu: false, ...(request.signal ? { signal: request.signal } : {}) });
    try {
      const prepared = missing.map((sample) => {
        const row = datasets.sample(sample.datasetId, sample.ordinal);
        if (row === undefined) throw new FacetError('NOT_FOUND', `Dataset ${sample.datasetId} has no sample ${sample.ordinal} any more.`, { datasetId: sample.datasetId, ordinal: sample.ordinal });
        return model.prepare({ turns: row.turns }, { template: space.template, maxTokens: space.maxTokens });
      });
      const longest = Math.max(64, ...prepared.map((sample) => sample.tokens.length));
      const context = await model.createContext({ contextSize: longest, sequences: 1, kv: space.kv, threads: 1 });
      const session = await registry.openSession(String(space.saeId), { activation: space.encodeMode === 'dense-relu' ? 'dense-relu' : 'architecture', provider: 'cpu', threads: 1 });
      try {
        for (let s = 0; s < missing.length; s++) {
          throwIfAborted(request.signal);
          const sample = missing[s]!;
          const { tokens, t0 } = prepared[s]!;
          const rows = tokens.length - t0;
          const values = new Float32Array(tokens.length);
          if (rows > 0) {
            const captured = await context.capture([tokens], { layers: [space.layer], ...(request.signal ? { signal: request.signal } : {}) });
            const x = captured.activations.get(space.layer)!.subarray(t0 * model.info.nEmbd, tokens.length * model.info.nEmbd);
            if (space.encodeMode === 'topk') {
              const codes = await session.encodeSparse(x, rows);
              for (let r = 0; r < rows; r++) {
                for (let e = codes.rowStart[r]!; e < codes.rowStart[r + 1]!; e++) if (codes.indices[e] === feature) values[t0 + r] = codes.values[e]!;
              }
            } else {
              // dense codes a batch of rows at a time: rows × dSae floats can be large
              for (let first = 0; first < rows; first += session.batchSize) {
                const n = Math.min(session.batchSize, rows - first);
                const codes = await session.encode(x.subarray(first * model.info.nEmbd, (first + n) * model.info.nEmbd), n);
                for (let r = 0; r < n; r++) values[t0 + first + r] = Math.max(0, codes[r * space.dSae + feature]!);
              }
            }
          }
          remember(sample.key, windowAround(model, tokens, t0, values, sample, feature, before, after));
        }
      } finally {
        context.dispose();
        await session.dispose();
      }
    } finally {
      model.dispose();
    }
  }
  return { contexts: wanted.map((sample) => cache.get(sample.key)!), seconds: missing.length > 0 ? (performance.now() - started) / 1000 : 0 };
}

/** The window of tokens around the peak (the index's peak where it has one) with each token's text, code and whether it is a control token. */
function windowAround(model: ProbeModel, tokens: Int32Array, t0: number, values: Float32Array, sample: { datasetId: number; ordinal: number; storedPeak: number | null }, feature: number, before: number, after: number): FeatureSpanContext {
  let g = 0;
  let strongest = t0;
  for (let t = t0; t < tokens.length; t++) {
    if (values[t]! > g) {
      g = values[t]!;
      strongest = t;
    }
  }
  const peak = sample.storedPeak !== null && sample.storedPeak < tokens.length ? sample.storedPeak : strongest;
  const from = Math.max(t0, peak - before);
  const to = Math.min(tokens.length, peak + after + 1);
  const slice = tokens.subarray(from, to);
  const { decoded, starts, ends } = tokenCharacterRanges(model, slice);
  const out: FeatureContextToken[] = [];
  for (let i = 0; i < slice.length; i++) {
    // a character split over several tokens: the first of them carries it
    const text = i > 0 && starts[i] === starts[i - 1] ? '' : decoded.slice(starts[i], ends[i]);
    const rendered = model.detokenize([slice[i]!], { removeSpecial: false, renderSpecial: true });
    const plain = model.detokenize([slice[i]!], { removeSpecial: false, renderSpecial: false });
    out.push({ position: from + i, text, value: values[from + i]!, special: rendered !== '' && plain === '' });
  }
  return { datasetId: sample.datasetId, ordinal: sample.ordinal, feature, t0, tokenCount: tokens.length, peak, g, tokens: out, cutBefore: from > t0, cutAfter: to < tokens.length };
}
