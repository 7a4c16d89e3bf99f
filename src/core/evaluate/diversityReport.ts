import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { SampleRow } from '../../shared/datasetTypes.ts';
import type { DatasetDiversity, DiversityReport } from '../../shared/evaluateTypes.ts';
import { coverageFromIndex } from '../coverage/measureCoverage.ts';
import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import { directFeatureIndexer, type FeatureIndexer } from '../features/featureIndexJob.ts';
import { FeatureIndexRepository } from '../features/FeatureIndexRepository.ts';
import { featureSpaceParams, resolveFeatureSpace, resolveIndexDataset, type FeatureSpaceParams } from '../features/resolveFeatureSpace.ts';
import { decodeSampleFeatures } from '../features/SampleFeatures.ts';
import { SeededRandom } from '../forge/SeededRandom.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import { ProbeModel } from '../llama/ProbeModel.ts';
import type { Store } from '../store/Store.ts';
import { meanPairwiseCosineDistance, vendiScore } from './embeddingDiversity.ts';
import { bigramEntropy, compressionRatio, distinctN, ngramDiversity, selfBleu } from './textDiversity.ts';

export type { DatasetDiversity, DiversityReport };

export interface DiversityReportRequest extends FeatureSpaceParams {
  /** Registered datasets (names or ids) to report on. */
  datasets: string[];
  /** The anchor set FAC is measured against. Defaults to the first listed dataset with the anchor role, else the first. */
  anchor?: string;
  /** δ values. Defaults to [0, 1, 2]. */
  thresholds?: number[];
  /** Texts per dataset for the embedding metrics (a seeded sample beyond). Defaults to 1,000. */
  embeddingCap?: number;
  /** Texts per dataset scored for self-BLEU (against the whole set). Defaults to 500. */
  selfBleuCap?: number;
  threads?: number;
  cpu?: boolean;
}

export interface DiversityReportControl {
  signal?: AbortSignal;
  indexer?: FeatureIndexer;
  onProgress?: (done: number, total: number) => void;
}

/** The definitions printed with every report. */
export const diversityDefinitions: Record<string, string> = {
  words: 'whitespace-separated tokens of the sample text (all turns joined by newlines), case kept; n-grams never cross samples',
  distinct1: 'unique 1-grams / all 1-grams over the whole set',
  distinct2: 'unique 2-grams / all 2-grams over the whole set',
  ngramDiversity: 'Σ_{n=1..4} distinct-n (0 … 4)',
  bigramEntropy: 'Shannon entropy in bits of the bigram distribution over the whole set',
  selfBleu4: 'mean over samples of BLEU-4 of the sample against all other samples as references, uniform weights, no smoothing, closest-reference brevity penalty',
  compressionRatio: 'UTF-8 bytes of the samples joined by newlines / bytes after one plain gzip pass (level 9)',
  embeddingCosineDistance: '1 − mean pairwise cosine similarity of the sample embeddings',
  vendi: 'exp of the entropy of the eigenvalues of K/n, K the cosine-similarity matrix of the sample embeddings',
  fac: 'share of the features the anchor set activates (g > δ) that the dataset also activates',
};

function sampleText(row: SampleRow): string {
  const parts = row.turns.map((turn) => turn.content);
  if (row.pair?.kind === 'preference') parts.push(...[...row.pair.chosen, ...row.pair.rejected].map((turn) => turn.content));
  else if (row.pair?.kind === 'ab') parts.push(row.pair.matching, row.pair.notMatching);
  return parts.join('\n');
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The diversity report of issue 13 for datasets in one feature space: size, length, FAC at each δ
 * against the anchor (also on length-matched subsets), text metrics and embedding metrics. Datasets
 * not yet indexed in the space are indexed first (as `facet coverage` does).
 */
export async function diversityReport(store: Store, home: string, request: DiversityReportRequest, control: DiversityReportControl = {}): Promise<DiversityReport> {
  const started = performance.now();
  if (request.datasets.length === 0) throw new FacetError('INVALID_ARGUMENT', 'Name at least one dataset: --datasets A,B,….');
  const thresholds = request.thresholds ?? [0, 1, 2];
  const datasets = [...new Map(request.datasets.map((name) => resolveIndexDataset(store, name)).map((dataset) => [dataset.id, dataset])).values()];
  const anchor = request.anchor !== undefined ? resolveIndexDataset(store, request.anchor) : (datasets.find((dataset) => dataset.role === 'anchor') ?? datasets[0]!);
  const resolved = await resolveFeatureSpace(store, home, request);
  const total = datasets.length * 3;
  let done = 0;
  const step = (): void => control.onProgress?.(++done, total);
  control.onProgress?.(0, total);

  // 1. FAC per δ against the anchor, from the space's indexes (indexing whatever is missing);
  //    the anchor's own row is FAC of the anchor against itself. No coverage run is recorded.
  for (const delta of thresholds) {
    if (!(delta >= resolved.space.minActivation)) {
      throw new FacetError('INVALID_ARGUMENT', `Threshold ${delta} lies below the storage floor ${resolved.space.minActivation} (--min-activation): activations at or below it are not stored. Use δ ≥ ${resolved.space.minActivation}.`, { threshold: delta, floor: resolved.space.minActivation });
    }
  }
  const indexer = control.indexer ?? directFeatureIndexer(store, home);
  const indexOf = async (name: string): Promise<{ indexId: number; spaceId: number }> => {
    throwIfAborted(control.signal);
    return indexer({ ...featureSpaceParams(request), dataset: name, ...(request.threads !== undefined ? { threads: request.threads } : {}), ...(request.cpu ? { cpu: true } : {}) }, control.signal ? { signal: control.signal } : {});
  };
  const anchorIndexed = await indexOf(anchor.name);
  const spaceId = anchorIndexed.spaceId;
  const coverage = new Map<number, { threshold: number; fac: number | null; activeFeatures: number }[]>();
  for (const dataset of datasets) {
    const indexed = dataset.id === anchor.id ? anchorIndexed : await indexOf(dataset.name);
    const computed = coverageFromIndex(store, { anchorIndexId: anchorIndexed.indexId, seedIndexId: indexed.indexId, thresholds });
    coverage.set(dataset.id, computed.results.map((result) => ({ threshold: result.threshold, fac: result.fac, activeFeatures: result.seedActive })));
    step();
  }
  const repository = new FeatureIndexRepository(store.db);
  const space = repository.space(spaceId)!;
  const anchorIndex = repository.index(spaceId, anchor.id)!;
  const anchorMaxima = repository.totals(anchorIndex.id)!.maxima;

  // 2. Lengths (tokens after the template prefix) and length-matched subsets: shared bins over
  //    every dataset's lengths; each dataset keeps, per bin, as many samples as the sparsest dataset has.
  const lengths = new Map<number, { ordinal: number; tokens: number }[]>();
  for (const dataset of datasets) {
    const index = repository.index(spaceId, dataset.id)!;
    lengths.set(dataset.id, Array.from(repository.samples(index.id), (row) => ({ ordinal: row.ordinal, tokens: Math.max(0, row.tokenCount - row.t0) })));
  }
  const all = [...lengths.values()].flat().map((entry) => entry.tokens).sort((a, b) => a - b);
  const binCount = 8;
  const edges = Array.from({ length: binCount + 1 }, (_, b) => all[Math.min(all.length - 1, Math.floor((b * (all.length - 1)) / binCount))] ?? 0);
  const binOf = (tokens: number): number => {
    let b = 0;
    while (b < binCount - 1 && tokens > edges[b + 1]!) b++;
    return b;
  };
  const perBin = Array.from({ length: binCount }, (_, b) => Math.min(...datasets.map((dataset) => lengths.get(dataset.id)!.filter((entry) => binOf(entry.tokens) === b).length)));

  const model = await ProbeModel.load(resolved.modelPath, { gpu: request.cpu ? false : 'auto', ...(control.signal ? { signal: control.signal } : {}) });
  try {
    const context = await model.createContext({ contextSize: Math.min(space.maxTokens * 4, model.info.nCtxTrain > 0 ? model.info.nCtxTrain : space.maxTokens * 4), sequences: 4, ...(request.threads !== undefined ? { threads: request.threads } : {}) });
    const lastLayer = model.info.nLayer - 1;
    const rows = new DatasetRepository(store.db);
    const out: DatasetDiversity[] = [];
    for (const dataset of datasets) {
      throwIfAborted(control.signal);
      const index = repository.index(spaceId, dataset.id)!;
      const samples = rows.samples(dataset.id, 0, dataset.sampleCount);
      const texts = samples.map(sampleText);
      const bleu = selfBleu(texts, 4, request.selfBleuCap ?? 500);

      // length-matched FAC
      const random = new SeededRandom(`length-match:${dataset.id}`);
      const chosen = new Set<number>();
      for (let b = 0; b < binCount; b++) {
        const inBin = lengths.get(dataset.id)!.filter((entry) => binOf(entry.tokens) === b).map((entry) => entry.ordinal);
        for (let i = inBin.length - 1; i > 0; i--) {
          const j = Math.floor(random.nextFloat() * (i + 1));
          [inBin[i], inBin[j]] = [inBin[j]!, inBin[i]!];
        }
        for (const ordinal of inBin.slice(0, perBin[b])) chosen.add(ordinal);
      }
      const subsetMaxima = new Float32Array(space.dSae);
      for (const row of repository.samples(index.id)) {
        if (!chosen.has(row.ordinal)) continue;
        const features = decodeSampleFeatures(row.entries);
        for (let i = 0; i < features.features.length; i++) if (features.values[i]! > subsetMaxima[features.features[i]!]!) subsetMaxima[features.features[i]!] = features.values[i]!;
      }
      const lengthMatchedCoverage = thresholds.map((threshold) => {
        let anchorActive = 0;
        let covered = 0;
        for (let f = 0; f < space.dSae; f++) {
          if (anchorMaxima[f]! > threshold) {
            anchorActive++;
            if (subsetMaxima[f]! > threshold) covered++;
          }
        }
        return { threshold, fac: anchorActive === 0 ? null : covered / anchorActive, samples: chosen.size };
      });
      step();

      // embeddings: mean of the residual after the last block over t ≥ t0
      const cap = request.embeddingCap ?? 1000;
      const order = samples.map((_, i) => i);
      if (order.length > cap) {
        const pick = new SeededRandom(`embed:${dataset.id}`);
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(pick.nextFloat() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        order.length = cap;
      }
      const prepared = order.map((i) => model.prepare({ turns: samples[i]!.turns }, { template: space.template, maxTokens: space.maxTokens }));
      const d = model.info.nEmbd;
      const embeddings = new Float64Array(prepared.length * d);
      // streamed chunk by chunk: only the pooled vectors are kept
      await context.captureChunks(prepared.map((sample) => sample.tokens), { layers: [lastLayer], ...(control.signal ? { signal: control.signal } : {}) }, (chunk) => {
        const activations = chunk.activations.get(lastLayer)!;
        let row = 0;
        chunk.lengths.forEach((length, j) => {
          const i = chunk.firstSample + j;
          const from = prepared[i]!.t0;
          const count = length - from;
          for (let t = from; t < length; t++) for (let k = 0; k < d; k++) embeddings[i * d + k]! += activations[(row + t) * d + k]! / count;
          row += length;
        });
      });
      const tokenCounts = lengths.get(dataset.id)!.map((entry) => entry.tokens);
      const histogram = new Array<number>(binCount).fill(0);
      for (const tokens of tokenCounts) histogram[binOf(tokens)]! += 1;
      out.push({
        name: dataset.name,
        size: dataset.sampleCount,
        distinct1: distinctN(texts, 1),
        distinct2: distinctN(texts, 2),
        ngramDiversity: ngramDiversity(texts),
        bigramEntropy: bigramEntropy(texts),
        selfBleu4: bleu.value,
        selfBleuScored: bleu.scored,
        compressionRatio: compressionRatio(texts),
        embeddingCosineDistance: meanPairwiseCosineDistance(embeddings, prepared.length, d),
        vendi: vendiScore(embeddings, prepared.length, d),
        embeddedSamples: prepared.length,
        meanTokens: tokenCounts.reduce((sum, value) => sum + value, 0) / Math.max(1, tokenCounts.length),
        medianTokens: median(tokenCounts),
        tokenHistogram: { edges, counts: histogram },
        coverage: coverage.get(dataset.id)!,
        lengthMatchedCoverage,
      });
      step();
    }
    return {
      model: space.modelName,
      sae: resolved.sae.name,
      layer: space.layer,
      spaceId,
      anchor: anchor.name,
      thresholds,
      embedding: `mean over the sample's tokens after the chat-template prefix of the residual after the last block (l_out-${lastLayer}, before the final norm) of ${space.modelName}, at most ${request.embeddingCap ?? 1000} seeded samples per dataset`,
      lengthMatching: `${binCount} length bins shared by all datasets (tokens after the template prefix); every dataset keeps, per bin, as many seeded-random samples as the sparsest dataset has there`,
      definitions: diversityDefinitions,
      datasets: out,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    model.dispose();
  }
}


export const REPORT_JOB = 'evaluate.report';

export function createDiversityReportJob(store: Store, home: string, indexer?: FeatureIndexer): JobDefinition<DiversityReportRequest, never, DiversityReport> {
  return {
    kind: REPORT_JOB,
    title: (request) => `Diversity report of ${request.datasets.join(', ')} (${request.model}, SAE ${request.sae})`,
    run: (request, ctx) => diversityReport(store, home, request, { signal: ctx.signal, ...(indexer ? { indexer } : {}), onProgress: (done, total) => ctx.progress(done, total) }),
  };
}
