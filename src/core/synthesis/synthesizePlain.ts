import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { NormalizedSample } from '../../shared/datasetTypes.ts';
import { plainBaselineSource, type PlainSynthesisReport, type PlainSynthesisRecord, type SynthesisReport } from '../../shared/synthesisTypes.ts';
import { contentHash } from '../datasets/contentHash.ts';
import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import type { FeatureIndexer } from '../features/featureIndexJob.ts';
import { FeatureIndexRepository } from '../features/FeatureIndexRepository.ts';
import { resolveFeatureSpace } from '../features/resolveFeatureSpace.ts';
import type { ChatGenerator } from '../generation/ChatGenerator.ts';
import { LocalChatGenerator } from '../generation/LocalChatGenerator.ts';
import { openChatGenerator } from '../generation/openChatGenerator.ts';
import { ProbeModel } from '../llama/ProbeModel.ts';
import type { Store } from '../store/Store.ts';
import { NgramOverlapIndex } from './NgramOverlapIndex.ts';
import { PerplexityScorer } from './PerplexityScorer.ts';
import { plainConversation, promptHash, synthesisPromptVersion } from './synthesisPrompts.ts';
import { SynthesisRepository, type SynthesisRunRecord } from './SynthesisRepository.ts';
import { charsPerToken, resolveSynthesisTask, sampleText } from './synthesisTasks.ts';
import { coverageAfter, settingsOf, uniqueName, type SynthesisRequest } from './synthesizeFeatures.ts';

/** `facet synthesize --baseline plain`: the same-budget control for a feature-guided run. */
export interface PlainSynthesisRequest {
  /** The feature-guided synthesis run whose generator, task, sampling, gate and budget are copied. */
  like: number;
  /** Samples to keep; defaults to the number the guided run accepted. */
  count?: number;
  /** Name of the new dataset; defaults to `<seed>-plain-<task>`. */
  name?: string;
  /** Base sampler seed; defaults to the guided run's seed + 7919, so the two never share a draw. */
  samplerSeed?: number;
  threads?: number;
  cpu?: boolean;
}

export interface PlainSynthesisControl {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  indexer?: FeatureIndexer;
}

/** Marks the datasets this module writes, so a resumed job finds its own unfinished dataset (and the app finds a run's baseline). */
const sourceOf = plainBaselineSource;

interface GuidedRun {
  run: SynthesisRunRecord;
  request: SynthesisRequest;
  report: SynthesisReport;
}

function guidedRun(store: Store, like: number): GuidedRun {
  const run = new SynthesisRepository(store.db).run(like);
  if (run === undefined) throw new FacetError('NOT_FOUND', `There is no synthesis run ${like}. List runs with 'facet synthesize runs' or on the Synthesis page.`, { like });
  if (run.state !== 'done' || run.report === null) {
    throw new FacetError('INVALID_ARGUMENT', `Synthesis run ${like} is ${run.state}; a plain baseline copies the budget of a finished run. Wait for it to finish (or pick another run).`, { like, state: run.state });
  }
  if (run.anchorDatasetId === null || run.seedDatasetId === null) throw new FacetError('NOT_FOUND', `The anchor or seed dataset of synthesis run ${like} was removed; its baseline could not be compared.`, { like });
  return { run, request: run.request as SynthesisRequest, report: run.report };
}

/** The sample count and candidate budget of a baseline for `like` (the same as the guided run spent per kept sample). */
export function plainBudget(report: Pick<SynthesisReport, 'accepted' | 'candidates'>, count?: number): { count: number; budget: number } {
  const target = count ?? report.accepted.length;
  if (!Number.isInteger(target) || target < 1) {
    throw new FacetError('INVALID_ARGUMENT', `The guided run kept no samples, so there is no sample count to match. Pass a count (--count N).`, { count: target });
  }
  const perSample = report.candidates / Math.max(1, report.accepted.length);
  return { count: target, budget: Math.max(target, Math.round(perSample * target)) };
}

/** Checks the run and names before a job is queued; fills in count and name. */
export function preparePlainSynthesis(store: Store, request: PlainSynthesisRequest): PlainSynthesisRequest {
  const { request: guided, report } = guidedRun(store, request.like);
  const { count } = plainBudget(report, request.count);
  const datasets = new DatasetRepository(store.db);
  if (request.name !== undefined && datasets.findByName(request.name) !== undefined) {
    throw new FacetError('DATASET_NAME_TAKEN', `A dataset named '${request.name}' exists already. Pick another name.`, { name: request.name });
  }
  const seedName = report.seed;
  return { ...request, count, name: request.name ?? uniqueName(datasets, `${seedName}-plain-${guided.task}`) };
}

/**
 * Writes `count` samples with the guided run's generator, task format and sampling, but from a
 * prompt without any feature, through the same gate minus the feature test (the task's format,
 * the coherence bound the guided run used, near-duplicates of anchor, seed and kept samples), and
 * with at most as many candidates per kept sample as the guided run generated. The dataset (role
 * synthetic) records each sample's lineage in its `meta.synthesis`; it is indexed in the guided
 * run's feature space and FAC of seed ∪ plain is reported next to seed ∪ guided.
 */
export async function synthesizePlain(store: Store, home: string, input: PlainSynthesisRequest, control: PlainSynthesisControl = {}): Promise<PlainSynthesisReport> {
  const started = performance.now();
  const { run: guided, request, report: guidedReport } = guidedRun(store, input.like);
  const task = await resolveSynthesisTask(request.task, request.taskSpec);
  const settings = settingsOf(request, task.defaultMaxTokens);
  const { count, budget } = plainBudget(guidedReport, input.count);
  const datasets = new DatasetRepository(store.db);
  const indexes = new FeatureIndexRepository(store.db);
  const space = indexes.space(guided.spaceId);
  if (space === undefined) throw new FacetError('NOT_FOUND', `The feature space of synthesis run ${guided.id} was removed.`, { like: guided.id });
  const name = input.name ?? uniqueName(datasets, `${guidedReport.seed}-plain-${request.task}`);
  let dataset = datasets.findByName(name);
  if (dataset !== undefined && (dataset.sourcePath !== sourceOf(guided.id) || dataset.state === 'ready')) {
    throw new FacetError('DATASET_NAME_TAKEN', `A dataset named '${name}' exists already. Pick another name.`, { name });
  }
  const datasetId = dataset?.id ?? datasets.create(name, 'synthetic', task.format, sourceOf(guided.id));
  dataset = datasets.get(datasetId)!;

  let succeeded = false;
  let generator: ChatGenerator | undefined;
  let scorer: PerplexityScorer | undefined;
  let scoringModel: ProbeModel | undefined;
  try {
    const threads = input.threads ?? request.threads;
    const cpu = input.cpu ?? request.cpu;
    generator = await openChatGenerator(store, request.generator ?? { ...(threads ? { threads } : {}), ...(cpu ? { cpu: true } : {}) }, request.model, control.signal);
    const local = generator instanceof LocalChatGenerator ? generator : undefined;
    const bound = guided.coherence?.bound ?? null;
    if (settings.coherence && bound !== null) {
      // the guided run scored perplexity under its local generator, or else under the measuring model
      let model = local?.model;
      if (model === undefined) {
        scoringModel = await ProbeModel.load((await resolveFeatureSpace(store, home, request)).modelPath, { gpu: cpu ? false : 'auto', ...(control.signal ? { signal: control.signal } : {}) });
        model = scoringModel;
      }
      scorer = await PerplexityScorer.open(model, threads ? { threads } : {});
    }

    const overlap = new NgramOverlapIndex(settings.ngram);
    for (const id of [guided.anchorDatasetId!, guided.seedDatasetId!, datasetId]) {
      const total = datasets.get(id)?.sampleCount ?? 0;
      for (let offset = 0; offset < total; offset += 1000) for (const row of datasets.samples(id, offset, 1000)) overlap.add(sampleText(row));
    }
    const schema = task.schema(settings.maxTokens * charsPerToken);
    const conversation = plainConversation(task);
    const hash = promptHash(conversation, schema);
    const baseSeed = input.samplerSeed ?? settings.seed + 7919;
    const parallel = Math.max(1, request.generator?.parallel ?? 8);
    const rejected: Record<string, number> = {};
    const reject = (reason: string): void => void (rejected[reason] = (rejected[reason] ?? 0) + 1);
    let kept = dataset.sampleCount; // a resumed job continues where its dataset stands
    // a resumed job's earlier candidates are not stored; it spends at most the budget again from what is left to keep
    let generated = 0;
    const remainingBudget = Math.max(count - kept, Math.round((budget * (count - kept)) / count));
    control.onProgress?.(kept, count);

    while (kept < count && generated < remainingBudget) {
      throwIfAborted(control.signal);
      // no more than twice what is still to keep: a batch far larger would spend the budget on samples never kept
      const batch = Math.min(parallel, remainingBudget - generated, 2 * (count - kept));
      const seed = baseSeed + dataset.sampleCount + generated;
      const outputs = await generator.complete(Array.from({ length: batch }, () => conversation), { maxTokens: settings.maxTokens, temperature: settings.temperature, topP: settings.topP, jsonSchema: schema, seed }, control.signal ? { signal: control.signal } : {});
      const parsed: { sample: NormalizedSample; seed: number }[] = [];
      outputs.forEach((output, j) => {
        const result = task.parse(output.text, kept + j);
        if (result.ok) parsed.push({ sample: result.sample, seed: seed + j });
        else reject(result.reason);
      });
      generated += batch;
      const perplexities = scorer !== undefined && parsed.length > 0 ? await scorer.perplexities(parsed.map((entry) => entry.sample.turns), control.signal) : parsed.map(() => null);
      datasets.transaction(() => {
        parsed.forEach((entry, i) => {
          if (kept >= count) return void reject('not-kept');
          const perplexity = perplexities[i] ?? null;
          if (bound !== null && scorer !== undefined && perplexity !== null && perplexity > bound) return void reject('incoherent');
          const text = sampleText(entry.sample);
          const share = overlap.overlap(text);
          if (share >= settings.overlapThreshold) return void reject('near-duplicate');
          const record: PlainSynthesisRecord = {
            baseline: 'plain',
            like: guided.id,
            generator: generator!.label,
            generatorHash: generator!.identity,
            task: task.name,
            promptVersion: synthesisPromptVersion,
            promptHash: hash,
            seed: entry.seed,
            sampling: { temperature: settings.temperature, topP: settings.topP, maxTokens: settings.maxTokens },
            perplexity,
            coherenceBound: scorer === undefined ? null : bound,
            overlap: share,
            createdAt: new Date().toISOString(),
          };
          const sample: NormalizedSample = { ...entry.sample, meta: { ...entry.sample.meta, synthesis: record } };
          if (!datasets.insertSample(datasetId, kept, kept + 1, contentHash(sample), sample)) return void reject('near-duplicate');
          overlap.add(text);
          kept++;
        });
        datasets.updateCounts(datasetId, kept, 0, 0, task.format);
      });
      control.onProgress?.(kept, count);
    }
    if (kept === 0) {
      throw new FacetError('SYNTHESIS_NOTHING_KEPT', `The plain baseline kept none of ${generated} candidates (${Object.entries(rejected).map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none generated'}); there is nothing to compare. Check the generator with 'facet synthesize' on its own.`, { like: guided.id, rejected });
    }
    datasets.markReady(datasetId);
    const coverage = await coverageAfter(store, home, request, space, { anchorDatasetId: guided.anchorDatasetId, seedDatasetId: guided.seedDatasetId, coverageRunId: guided.coverageRunId, datasetId }, name, kept, {
      ...(control.signal ? { signal: control.signal } : {}),
      ...(control.indexer ? { indexer: control.indexer } : {}),
    });
    const samples = datasets.samples(datasetId, 0, kept);
    succeeded = true;
    return {
      baseline: 'plain',
      like: guided.id,
      dataset: name,
      datasetId,
      task: task.name,
      anchor: guidedReport.anchor,
      seed: guidedReport.seed,
      guidedDataset: guidedReport.dataset,
      requested: count,
      budget,
      candidates: generated,
      accepted: samples.map((row) => ({ text: sampleText(row), record: row.meta?.['synthesis'] as PlainSynthesisRecord })),
      rejected,
      coverage,
      guidedCoverage: guidedReport.coverage,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await scorer?.dispose();
    await scoringModel?.dispose();
    await generator?.dispose();
    // like a failed import, a failed or cancelled baseline leaves nothing behind
    if (!succeeded && datasets.get(datasetId) !== undefined) datasets.remove(datasetId);
  }
}
