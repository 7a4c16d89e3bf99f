import { FacetError, throwIfAborted } from '../../shared/FacetError.ts';
import type { NormalizedSample } from '../../shared/datasetTypes.ts';
import type { AcceptedSample, CoherenceBound, RejectedCandidate, SteeringSummary, SynthesisCoverage, SynthesisRecord, SynthesisReport } from '../../shared/synthesisTypes.ts';
import { rejectionReasons } from '../../shared/synthesisTypes.ts';
import { computeCoverage } from '../coverage/computeCoverage.ts';
import { getCoverageRun, measureCoverage, type CoverageRequest } from '../coverage/measureCoverage.ts';
import { contentHash } from '../datasets/contentHash.ts';
import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import { directFeatureIndexer, type FeatureIndexer } from '../features/featureIndexJob.ts';
import { FeatureIndexRepository, type FeatureSpaceRecord } from '../features/FeatureIndexRepository.ts';
import { decodeSampleFeatures } from '../features/SampleFeatures.ts';
import { featureSpaceParams, resolveFeatureSpace, resolveIndexDataset, type FeatureSpaceParams } from '../features/resolveFeatureSpace.ts';
import type { ChatGenerator } from '../generation/ChatGenerator.ts';
import { LocalChatGenerator } from '../generation/LocalChatGenerator.ts';
import { openChatGenerator, type GeneratorChoice } from '../generation/openChatGenerator.ts';
import { readableText } from '../interpret/FeatureExampleSource.ts';
import { InterpretationRepository } from '../interpret/InterpretationRepository.ts';
import { relevantFeaturesOf } from '../interpret/relevantFeaturesOf.ts';
import { selectFeatures } from '../interpret/selectFeatures.ts';
import { SaeRegistry } from '../sae/SaeRegistry.ts';
import type { Store } from '../store/Store.ts';
import { activationOf, FeatureMeter } from './FeatureMeter.ts';
import { removeSyntheticSamples } from './syntheticSamples.ts';
import { NgramOverlapIndex } from './NgramOverlapIndex.ts';
import { PerplexityScorer } from './PerplexityScorer.ts';
import { promptHash, stepOneConversation, stepTwoConversation, synthesisPromptVersion, type ContrastExample, type FeatureBrief } from './synthesisPrompts.ts';
import { SynthesisRepository, type CandidateRow, type SynthesisRunRecord } from './SynthesisRepository.ts';
import { charsPerToken, resolveSynthesisTask, sampleText, type SynthesisTask } from './synthesisTasks.ts';
import { steeringDirection } from './steeringDirection.ts';

/** `facet synthesize` as plain data. */
export interface SynthesisRequest extends FeatureSpaceParams {
  anchor: string;
  seed: string;
  /** A built-in task or `custom` (then `taskSpec` names the spec file). */
  task: string;
  taskSpec?: string;
  /** Who writes; defaults to the measuring model. */
  generator?: GeneratorChoice;
  /** `missing` (default: seed against anchor at δ, measured now), `missing:<coverage run>`, or feature ids. */
  features?: 'missing' | `missing:${number}` | number[];
  /** With `missing`: only the missing features judged relevant to the task ('facet features judge'). */
  relevantOnly?: boolean;
  /** At most this many features (the most frequent in the anchor first). */
  limit?: number;
  /** δ of the gate (g_target > δ) and of the missing set. Defaults to 0. */
  threshold?: number;
  /** δ values of the coverage report after synthesis. Defaults to the gate's δ with 0, 0.5, 1 and 2 (those not below the index's storage floor). */
  reportThresholds?: number[];
  /** n: step-1 candidates per feature. Defaults to 2. */
  candidates?: number;
  /** m: step-2 candidates per feature and steering strength. Defaults to 2. */
  contrast?: number;
  /** k: accepted samples per feature at most. Defaults to 1. */
  keep?: number;
  temperature?: number;
  topP?: number;
  /** Base sampler seed (conversation j of a call samples with seed + j). Defaults to 0. */
  samplerSeed?: number;
  /** New tokens per candidate. Defaults to the task's (200 toxicity … 700 helpfulness). */
  maxNewTokens?: number;
  /**
   * Steering strengths for step 2 (the target feature's decoder row, scaled so that 1 adds it at the
   * feature's largest anchor activation). 0 (unsteered) always runs too, for comparison.
   */
  steer?: number[];
  /** Check coherence by perplexity. Defaults to true. */
  coherence?: boolean;
  /** The bound is this quantile of the anchor samples' perplexities … Defaults to 0.95. */
  coherenceQuantile?: number;
  /** … times this factor. Defaults to 1.5. */
  coherenceSlack?: number;
  /** Anchor samples scored for the bound. Defaults to 64. */
  coherenceSamples?: number;
  /** Near-duplicate when this share of the candidate's word n-grams occurs in one other text. Defaults to 0.8. */
  overlapThreshold?: number;
  /** Word n-gram length of the near-duplicate check. Defaults to 3. */
  ngram?: number;
  /** Name of the synthetic dataset. Defaults to `<seed>-synthetic-<task>-<run>`. */
  name?: string;
  threads?: number;
  cpu?: boolean;
}

export interface SynthesisControl {
  signal?: AbortSignal;
  /** The job this run belongs to: a resumed job continues its run. */
  jobId?: string;
  /** Features finished of those selected; called inside the transaction that stores the feature. */
  onProgress?: (done: number, total: number) => void;
  /** Each feature's candidates as soon as they are stored. */
  onCandidates?: (feature: number, candidates: CandidateRow[]) => void;
  onNotice?: (notice: string) => void;
  indexer?: FeatureIndexer;
}

export interface Settings {
  threshold: number;
  n: number;
  m: number;
  k: number;
  temperature: number;
  topP: number;
  seed: number;
  maxTokens: number;
  strengths: number[];
  coherence: boolean;
  quantile: number;
  slack: number;
  coherenceSamples: number;
  overlapThreshold: number;
  ngram: number;
}

/** The run's settings with defaults filled in and ranges checked (coded errors name the flag). */
export function settingsOf(request: SynthesisRequest, defaultMaxTokens = 256): Settings {
  const integer = (value: number | undefined, fallback: number, name: string, low: number, high: number): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < low || v > high) throw new FacetError('INVALID_ARGUMENT', `--${name} must be an integer ${low} … ${high} (got ${v}).`, { [name]: v });
    return v;
  };
  const real = (value: number | undefined, fallback: number, name: string, low: number, high: number): number => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v < low || v > high) throw new FacetError('INVALID_ARGUMENT', `--${name} must be a number ${low} … ${high} (got ${v}).`, { [name]: v });
    return v;
  };
  const strengths = [0, ...(request.steer ?? [])];
  for (const s of strengths) if (!Number.isFinite(s) || Math.abs(s) > 1000) throw new FacetError('INVALID_ARGUMENT', `--steer takes strengths between -1000 and 1000 (got ${s}).`);
  return {
    threshold: real(request.threshold, 0, 'threshold', 0, 1e6),
    n: integer(request.candidates, 2, 'candidates', 1, 32),
    m: integer(request.contrast, 2, 'contrast', 1, 32),
    k: integer(request.keep, 1, 'keep', 1, 32),
    temperature: real(request.temperature, 0.8, 'temperature', 0, 5),
    topP: real(request.topP, 0.9, 'top-p', 0, 1),
    seed: integer(request.samplerSeed, 0, 'sampler-seed', 0, 2 ** 31),
    maxTokens: integer(request.maxNewTokens, defaultMaxTokens, 'max-new-tokens', 8, 4096),
    strengths: [...new Set(strengths)],
    coherence: request.coherence ?? true,
    quantile: real(request.coherenceQuantile, 0.95, 'coherence-quantile', 0, 1),
    slack: real(request.coherenceSlack, 1.5, 'coherence-slack', 1, 100),
    coherenceSamples: integer(request.coherenceSamples, 64, 'coherence-samples', 1, 100_000),
    overlapThreshold: real(request.overlapThreshold, 0.8, 'overlap', 0, 1),
    ngram: integer(request.ngram, 3, 'ngram', 1, 8),
  };
}

/** Checks names, numbers and the task before a job is queued (no model is loaded). */
export async function prepareSynthesisRequest(store: Store, home: string, request: SynthesisRequest): Promise<SynthesisRequest> {
  settingsOf(request);
  await resolveSynthesisTask(request.task, request.taskSpec);
  await resolveFeatureSpace(store, home, request);
  resolveIndexDataset(store, request.anchor);
  resolveIndexDataset(store, request.seed);
  if (request.name !== undefined && new DatasetRepository(store.db).findByName(request.name) !== undefined) {
    throw new FacetError('DATASET_NAME_TAKEN', `A dataset named '${request.name}' exists already. Pick another --name, or remove it with 'facet datasets remove ${request.name}'.`, { name: request.name });
  }
  return request;
}

/** δ values reported after synthesis besides the gate's own (the paper's sensitivity study spans 0 … 4). */
export const defaultReportThresholds = [0, 0.5, 1, 2] as const;

/** The quantile q of values (linear interpolation between order statistics). */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = q * (sorted.length - 1);
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

interface Measured {
  raw: string;
  seed: number;
  steering: number;
  sample: NormalizedSample | null;
  failure: { reason: 'unparseable' | 'format'; detail: string } | null;
  activation: number | null;
  perplexity: number | null;
  overlap: number | null;
  outcome: CandidateRow['outcome'];
  detail: string | null;
}

/**
 * FAC Synthesis (the paper's §2) as one resumable run: per missing feature, step 1 samples n
 * candidates from the feature's description and top spans, measures each (g of the target in the
 * index's feature space) and forms the contrastive pair (x⁺ highest, x⁻ lowest; x⁺ is the top
 * anchor span when fewer than 2 candidates activate the feature); step 2 samples m candidates per
 * steering strength from the description and the pair, and the gate keeps a candidate only when
 * it parses in the task's format, its re-measured g_target > δ, its perplexity under the
 * unsteered generator is within the bound set from the anchor set, and it is not a near-duplicate
 * of an anchor, seed or accepted sample; the top k by activation are kept. Each feature's
 * candidates, accepted samples and provenance are stored in one transaction, so a resumed job
 * neither repeats nor loses a feature. Finally the synthetic dataset is indexed and coverage is
 * reported before and after at each δ.
 */
export async function synthesizeFeatures(store: Store, home: string, request: SynthesisRequest, control: SynthesisControl = {}): Promise<SynthesisReport> {
  const started = performance.now();
  const task = await resolveSynthesisTask(request.task, request.taskSpec);
  const settings = settingsOf(request, task.defaultMaxTokens);
  const repository = new SynthesisRepository(store.db);
  const datasets = new DatasetRepository(store.db);
  const indexes = new FeatureIndexRepository(store.db);
  const existing = control.jobId === undefined ? undefined : repository.runOfJob(control.jobId);
  const run = existing ?? (await startRun(store, home, request, settings, task, control));
  const space = indexes.space(run.spaceId)!;
  const resolved = await resolveFeatureSpace(store, home, request);
  if (resolved.space.key !== space.key) throw new FacetError('INTERNAL', `Synthesis run ${run.id} belongs to feature space ${space.id}, but the request names another.`);
  const sae = new SaeRegistry(store, home).get(request.sae);
  const dataset = datasets.get(run.datasetId!);
  if (dataset === undefined) throw new FacetError('NOT_FOUND', `The synthetic dataset of run ${run.id} was removed while the run was unfinished.`, { runId: run.id });

  let succeeded = false;
  let generator: ChatGenerator | undefined;
  let meter: FeatureMeter | undefined;
  let scorer: PerplexityScorer | undefined;
  try {
    generator = await openChatGenerator(store, request.generator ?? { ...(request.threads ? { threads: request.threads } : {}), ...(request.cpu ? { cpu: true } : {}) }, request.model, control.signal);
    const local = generator instanceof LocalChatGenerator ? generator : undefined;
    if (local !== undefined) await checkSchemaCompiles(local, task.schema(settings.maxTokens * charsPerToken));
    if (settings.strengths.some((s) => s !== 0) && local === undefined) {
      throw new FacetError('INVALID_ARGUMENT', 'Steering needs a local generator (a registered GGUF model): an endpoint cannot be steered. Drop --steer or pick a local --generator.');
    }
    meter = await FeatureMeter.open(store, home, space, sae, resolved.modelPath, {
      ...(local !== undefined && local.model.path === resolved.modelPath ? { model: local.model } : {}),
      ...(request.threads ? { threads: request.threads } : {}),
      ...(request.cpu ? { cpu: true } : {}),
      ...(control.signal ? { signal: control.signal } : {}),
    });
    if (settings.coherence) scorer = await PerplexityScorer.open(local?.model ?? meter.model, request.threads ? { threads: request.threads } : {});
    let gateSeconds = 0;

    // The coherence bound: perplexity of anchor samples under the unsteered generator.
    let coherence = run.coherence;
    if (coherence === null) {
      const boundStart = performance.now();
      coherence = await coherenceBound(store, run.anchorDatasetId!, scorer, settings, control.signal);
      repository.setCoherence(run.id, coherence);
      gateSeconds += (performance.now() - boundStart) / 1000;
    }

    // Near-duplicates: anchor, seed, and what this run accepted before a resume.
    const overlapIndex = new NgramOverlapIndex(settings.ngram);
    for (const datasetId of [run.anchorDatasetId!, run.seedDatasetId!]) {
      const total = datasets.get(datasetId)?.sampleCount ?? 0;
      for (let offset = 0; offset < total; offset += 1000) for (const row of datasets.samples(datasetId, offset, 1000)) overlapIndex.add(sampleText(row));
    }
    for (const row of datasets.samples(dataset.id, 0, 1_000_000)) overlapIndex.add(sampleText(row));

    const finished = repository.finishedFeatures(run.id);
    const todo = run.features.filter((feature) => !finished.has(feature));
    const explanations = new InterpretationRepository(store.db).bestExplanations(space.id, run.features);
    const anchorIndex = indexes.index(space.id, run.anchorDatasetId!);
    const anchorMaxima = anchorIndex === undefined ? undefined : indexes.totals(anchorIndex.id)?.maxima;
    const steering = settings.strengths.some((s) => s !== 0) ? await new SaeRegistry(store, home).load(sae) : undefined;
    const record0 = {
      generator: generator.label,
      generatorHash: generator.identity,
      measuringModel: space.modelName,
      measuringModelHash: space.modelHash,
      sae: sae.name,
      saeHash: sae.hash,
      layer: space.layer,
      threshold: settings.threshold,
      encode: space.encodeMode,
      template: space.template,
      kv: space.kv,
      task: task.name,
      promptVersion: synthesisPromptVersion,
      sampling: { temperature: settings.temperature, topP: settings.topP, maxTokens: settings.maxTokens },
      coherenceBound: coherence.bound,
    };
    control.onProgress?.(finished.size, run.features.length);

    for (const feature of todo) {
      throwIfAborted(control.signal);
      const slot = run.features.indexOf(feature);
      const schema = task.schema(settings.maxTokens * charsPerToken);
      // The anchor's top spans (≤ 32 tokens ending with the peak token, strongest first).
      const anchorSpans = anchorIndex === undefined ? [] : indexes.spans(anchorIndex.id, feature).sort((a, b) => b.value - a.value || a.ordinal - b.ordinal).slice(0, 5);
      const explanation = explanations.get(feature);
      const brief: FeatureBrief = {
        feature,
        explanation: explanation?.canTell ? explanation.explanation : null,
        spans: anchorSpans.map((span) => ({ text: `${readableText(span.prefixText).trimStart()}[[${readableText(span.peakText)}]]`, value: span.value })),
      };
      const sampling = { maxTokens: settings.maxTokens, temperature: settings.temperature, topP: settings.topP, jsonSchema: schema };
      const featureSeed = settings.seed + feature * 1009;

      // Step 1: n candidates → contrastive pair.
      const conversation1 = stepOneConversation(task, brief);
      const outputs1 = await generator.complete(Array.from({ length: settings.n }, () => conversation1), { ...sampling, seed: featureSeed }, control.signal ? { signal: control.signal } : {});
      const step1 = outputs1.map((output, j) => parseCandidate(task, output.text, slot, featureSeed + j, 0));
      const gateStart = performance.now();
      await measureAll(meter, step1, feature, control.signal);
      gateSeconds += (performance.now() - gateStart) / 1000;
      for (const candidate of step1) {
        candidate.outcome = candidate.failure?.reason ?? 'contrast';
        candidate.detail = candidate.failure?.detail ?? null;
      }
      const measured1 = step1.filter((candidate) => candidate.activation !== null).sort((a, b) => b.activation! - a.activation!);
      const activating = measured1.filter((candidate) => candidate.activation! > settings.threshold);
      let fallback = false;
      let strong: ContrastExample;
      let weak: ContrastExample | null;
      const topSpan = anchorSpans[0];
      if (activating.length >= 2) {
        strong = { text: task.show(activating[0]!.sample!), activation: activating[0]!.activation! };
        const lowest = measured1[measured1.length - 1]!;
        weak = { text: task.show(lowest.sample!), activation: lowest.activation! };
      } else {
        fallback = topSpan !== undefined;
        strong = topSpan !== undefined ? { text: readableText(`${topSpan.prefixText}${topSpan.peakText}`).trim(), activation: topSpan.value } : { text: measured1[0] ? task.show(measured1[0].sample!) : '', activation: measured1[0]?.activation ?? 0 };
        const lowest = measured1[measured1.length - 1];
        weak = lowest !== undefined && (topSpan !== undefined || measured1.length > 1) ? { text: task.show(lowest.sample!), activation: lowest.activation! } : null;
      }

      // Step 2: m candidates per steering strength.
      const conversation2 = stepTwoConversation(task, brief, strong, weak);
      const hash2 = promptHash(conversation2, schema);
      const step2: Measured[] = [];
      for (const [s, strength] of settings.strengths.entries()) {
        const seed2 = featureSeed + 500 + s * 64;
        if (strength !== 0) {
          const vector = steeringDirection(steering!.config, steering!.weights, feature, (anchorMaxima?.[feature] ?? 1) || 1);
          await local!.setSteering({ vector, layers: space.layer, scale: strength });
        }
        try {
          const outputs2 = await generator.complete(Array.from({ length: settings.m }, () => conversation2), { ...sampling, seed: seed2 }, control.signal ? { signal: control.signal } : {});
          outputs2.forEach((output, j) => step2.push(parseCandidate(task, output.text, slot, seed2 + j, strength)));
        } finally {
          if (strength !== 0) await local!.setSteering(null);
        }
      }
      const gate2Start = performance.now();
      await measureAll(meter, step2, feature, control.signal);
      // The gate, strongest first: δ, coherence, near-duplicates, then the top k.
      for (const candidate of step2) {
        if (candidate.failure !== null) {
          candidate.outcome = candidate.failure.reason;
          candidate.detail = candidate.failure.detail;
        } else if (!(candidate.activation! > settings.threshold)) {
          candidate.outcome = 'below-threshold';
          candidate.detail = `g_${feature} = ${candidate.activation} is not above δ = ${settings.threshold}`;
        }
      }
      const alive = step2.filter((candidate) => candidate.failure === null && candidate.outcome !== 'below-threshold');
      if (scorer !== undefined && alive.length > 0) {
        const perplexities = await scorer.perplexities(alive.map((candidate) => candidate.sample!.turns), control.signal);
        alive.forEach((candidate, i) => {
          candidate.perplexity = perplexities[i] ?? null;
          if (coherence.bound !== null && candidate.perplexity !== null && candidate.perplexity > coherence.bound) {
            candidate.outcome = 'incoherent';
            candidate.detail = `perplexity ${candidate.perplexity.toFixed(2)} above the bound ${coherence.bound.toFixed(2)}`;
          }
        });
      }
      const ranked = alive.filter((candidate) => candidate.outcome !== 'incoherent').sort((a, b) => b.activation! - a.activation!);
      const accepted: Measured[] = [];
      for (const candidate of ranked) {
        candidate.overlap = overlapIndex.overlap(sampleText(candidate.sample!));
        if (candidate.overlap >= settings.overlapThreshold) {
          candidate.outcome = 'near-duplicate';
          candidate.detail = `${(candidate.overlap * 100).toFixed(0)}% of its word ${settings.ngram}-grams occur in one anchor, seed or accepted sample (limit ${(settings.overlapThreshold * 100).toFixed(0)}%)`;
        } else if (accepted.length < settings.k) {
          candidate.outcome = 'accepted';
          accepted.push(candidate);
          overlapIndex.add(sampleText(candidate.sample!));
        } else {
          candidate.outcome = 'not-kept';
          candidate.detail = `passed the gate, but ${settings.k} candidate(s) ranked higher`;
        }
      }
      gateSeconds += (performance.now() - gate2Start) / 1000;

      // Store the feature at once: candidates, accepted samples, provenance, progress.
      const stored: CandidateRow[] = [];
      repository.transaction(() => {
        const insert = (candidate: Measured, step: 1 | 2): number =>
          repository.insertCandidate({
            runId: run.id,
            feature,
            step,
            steering: candidate.steering,
            seed: candidate.seed,
            raw: candidate.raw.slice(0, 20_000),
            sample: candidate.sample,
            activation: candidate.activation,
            perplexity: candidate.perplexity,
            overlap: candidate.overlap,
            outcome: candidate.outcome,
            detail: candidate.detail,
          });
        for (const candidate of step1) insert(candidate, 1);
        let count = datasets.get(dataset.id)!.sampleCount;
        let kept = 0;
        for (const candidate of step2) {
          const candidateId = insert(candidate, 2);
          if (candidate.outcome === 'accepted') {
            const sample = candidate.sample!;
            if (!datasets.insertSample(dataset.id, count, count + 1, contentHash(sample), sample)) {
              repository.setCandidateOutcome(candidateId, 'near-duplicate', 'the synthetic dataset already holds exactly this sample', null);
              continue;
            }
            const sampleId = datasets.sample(dataset.id, count)!.id;
            kept++;
            const record: SynthesisRecord = {
              ...record0,
              runId: run.id,
              feature,
              activation: candidate.activation!,
              rank: kept,
              fallback,
              step: 2,
              promptHash: hash2,
              seed: candidate.seed,
              steering: candidate.steering,
              perplexity: candidate.perplexity,
              overlap: candidate.overlap ?? 0,
              createdAt: new Date().toISOString(),
            };
            repository.setCandidateOutcome(candidateId, 'accepted', null, sampleId);
            repository.insertProvenance(sampleId, candidateId, record);
            count++;
          }
        }
        datasets.updateCounts(dataset.id, count, 0, 0, task.format);
        repository.markFeature(run.id, feature, kept, fallback, { brief, strong, weak, fallback, step1: conversation1, step2: conversation2, promptHash: hash2 });
        stored.push(...repository.candidates(run.id).filter((row) => row.feature === feature));
        finished.add(feature);
        control.onProgress?.(finished.size, run.features.length);
      });
      control.onCandidates?.(feature, stored);
    }

    // Coverage after synthesis: index the synthetic set in the same space, then FAC at each δ.
    datasets.markReady(dataset.id);
    const verifyStart = performance.now();
    await verifyAgainstIndex(store, home, request, space, run, settings.threshold, control);
    gateSeconds += (performance.now() - verifyStart) / 1000;
    const synthetic = datasets.get(dataset.id)!;
    const coverage = await coverageAfter(store, home, request, space, run, synthetic.name, synthetic.sampleCount, control);
    const report = buildReport(store, run, synthetic.name, task.name, coverage, coherence, settings, (performance.now() - started) / 1000, gateSeconds);
    repository.finishRun(run.id, 'done', report);
    succeeded = true;
    return report;
  } finally {
    await scorer?.dispose();
    await meter?.dispose();
    await generator?.dispose();
    // A failed or cancelled run leaves the database as it was before it started (like an
    // import); only a killed process, which never gets here, leaves its run for `jobs resume`.
    if (!succeeded) discardRun(store, run.id);
  }
}

/** Removes a run and its synthetic dataset (samples, candidates and provenance by cascade). */
export function discardRun(store: Store, runId: number): void {
  const repository = new SynthesisRepository(store.db);
  const run = repository.run(runId);
  if (run === undefined) return;
  repository.transaction(() => {
    store.db.prepare('DELETE FROM synthesis_runs WHERE id = ?').run(runId);
    if (run.datasetId !== null) new DatasetRepository(store.db).remove(run.datasetId);
  });
}

async function startRun(store: Store, home: string, request: SynthesisRequest, settings: Settings, task: SynthesisTask, control: SynthesisControl): Promise<SynthesisRunRecord> {
  const anchor = resolveIndexDataset(store, request.anchor);
  const seed = resolveIndexDataset(store, request.seed);
  const selection = request.features ?? 'missing';
  let coverageRunId: number | null = null;
  let spaceId: number;
  let features: number[];
  const indexes = new FeatureIndexRepository(store.db);
  if (selection === 'missing' || typeof selection === 'string') {
    if (selection === 'missing') {
      const coverageRequest: CoverageRequest = { ...featureSpaceParams(request), anchor: request.anchor, seed: request.seed, thresholds: [settings.threshold], topMissing: 0 };
      if (request.relevantOnly) coverageRequest.task = task.name;
      if (request.threads !== undefined) coverageRequest.threads = request.threads;
      if (request.cpu !== undefined) coverageRequest.cpu = request.cpu;
      const report = await measureCoverage(store, home, coverageRequest, { ...(control.signal ? { signal: control.signal } : {}), indexer: control.indexer ?? directFeatureIndexer(store, home) });
      coverageRunId = report.runId;
    } else {
      coverageRunId = Number(selection.slice('missing:'.length));
    }
    const coverageRun = getCoverageRun(store, coverageRunId);
    spaceId = coverageRun.result.spaceId;
    const first = coverageRun.result.results[0];
    if (first !== undefined && first.threshold !== settings.threshold) {
      throw new FacetError('INVALID_ARGUMENT', `Coverage run ${coverageRunId} lists missing features at δ = ${first.threshold}, but the gate's δ is ${settings.threshold}. Pass --threshold ${first.threshold}, or use --features missing to measure at δ = ${settings.threshold}.`, { coverageRunId });
    }
    features = selectFeatures(store, indexes.space(spaceId)!, `missing:${coverageRunId}`);
  } else {
    const resolved = await resolveFeatureSpace(store, home, request);
    const space = indexes.spaceByKey(resolved.space.key);
    if (space === undefined || indexes.index(space.id, anchor.id)?.state !== 'ready' || indexes.index(space.id, seed.id)?.state !== 'ready') {
      throw new FacetError('NOT_FOUND', `The anchor '${anchor.name}' and seed '${seed.name}' are not both indexed in this feature space yet. Run 'facet coverage' with the same --model, --sae and options first (or use --features missing).`, { anchor: anchor.name, seed: seed.name });
    }
    spaceId = space.id;
    features = selectFeatures(store, space, selection);
  }
  const space = indexes.space(spaceId)!;
  const resolved = await resolveFeatureSpace(store, home, request);
  if (resolved.space.key !== space.key) throw new FacetError('INVALID_ARGUMENT', `Coverage run ${coverageRunId} was measured in another feature space (model, layer, SAE, encode mode, template or KV type differ) than this request names.`, { coverageRunId });
  if (request.limit !== undefined) features = features.slice(0, request.limit);
  if (features.length === 0) {
    throw new FacetError('NO_MISSING_FEATURES', `The seed '${seed.name}' already activates every feature the anchor '${anchor.name}' activates at δ = ${settings.threshold}${request.relevantOnly ? ` among those judged relevant to ${task.name}` : ''}: there is nothing to synthesize. Use a higher --threshold, or pass --features FILE with feature ids.`, { anchor: anchor.name, seed: seed.name, threshold: settings.threshold });
  }
  const datasets = new DatasetRepository(store.db);
  const repository = new SynthesisRepository(store.db);
  return repository.transaction(() => {
    const name = request.name ?? uniqueName(datasets, `${seed.name}-synthetic-${task.name}`);
    if (datasets.findByName(name) !== undefined) throw new FacetError('DATASET_NAME_TAKEN', `A dataset named '${name}' exists already. Pick another --name.`, { name });
    const datasetId = datasets.create(name, 'synthetic', task.format, `synthesis of ${task.name} for ${anchor.name} vs ${seed.name}`);
    const runId = repository.insertRun({ jobId: control.jobId ?? null, spaceId, anchorDatasetId: anchor.id, seedDatasetId: seed.id, coverageRunId, datasetId, task: task.name, request, features });
    return repository.run(runId)!;
  });
}

export function uniqueName(datasets: DatasetRepository, base: string): string {
  if (datasets.findByName(base) === undefined) return base;
  for (let i = 2; ; i++) if (datasets.findByName(`${base}-${i}`) === undefined) return `${base}-${i}`;
}


/** llama.cpp must be able to compile the task's schema into a grammar (custom schemas may not). */
async function checkSchemaCompiles(generator: LocalChatGenerator, schema: Record<string, unknown>): Promise<void> {
  try {
    await generator.model.backend.llama.createGrammarForJsonSchema(schema as never);
  } catch (error) {
    throw new FacetError('SCHEMA_UNSUPPORTED', `llama.cpp cannot turn the task's JSON schema into a grammar: ${error instanceof Error ? error.message : String(error)}. Simplify the schema (an object of string, number, boolean, enum and array properties; no $ref to other files, no pattern).`, {}, { cause: error });
  }
}

function parseCandidate(task: SynthesisTask, raw: string, slot: number, seed: number, steering: number): Measured {
  const parsed = task.parse(raw, slot);
  return {
    raw,
    seed,
    steering,
    sample: parsed.ok ? parsed.sample : null,
    failure: parsed.ok ? null : { reason: parsed.reason, detail: parsed.detail },
    activation: null,
    perplexity: null,
    overlap: null,
    outcome: 'contrast',
    detail: null,
  };
}

async function measureAll(meter: FeatureMeter, candidates: Measured[], feature: number, signal: AbortSignal | undefined): Promise<void> {
  const parsed = candidates.filter((candidate) => candidate.sample !== null);
  if (parsed.length === 0) return;
  const measured = await meter.measure(parsed.map((candidate) => candidate.sample!), signal);
  parsed.forEach((candidate, i) => {
    candidate.activation = measured[i]!.activation(feature);
  });
}

export async function coherenceBound(store: Store, anchorDatasetId: number, scorer: PerplexityScorer | undefined, settings: Settings, signal: AbortSignal | undefined): Promise<CoherenceBound> {
  if (scorer === undefined) return { bound: null, quantile: settings.quantile, slack: settings.slack, anchorSamples: 0, anchorMedian: null, model: '(coherence check off)' };
  const rows = new DatasetRepository(store.db).samples(anchorDatasetId, 0, settings.coherenceSamples);
  const values: number[] = [];
  for (let start = 0; start < rows.length; start += 16) {
    throwIfAborted(signal);
    const batch = await scorer.perplexities(rows.slice(start, start + 16).map((row) => row.turns), signal);
    for (const value of batch) if (value !== null && Number.isFinite(value)) values.push(value);
  }
  const q = quantile(values, settings.quantile);
  return { bound: q === null ? null : q * settings.slack, quantile: settings.quantile, slack: settings.slack, anchorSamples: values.length, anchorMedian: quantile(values, 0.5), model: scorer.model.path };
}

/**
 * The last word of the gate: the synthetic dataset is indexed in the feature space (capture and
 * encode of exactly the stored samples, packed as any index packs them), each accepted sample's
 * recorded activation becomes the index's g_target, and a sample whose indexed g_target is not
 * above δ (float rounding can differ by a last bit between batch packings) is removed and the
 * dataset indexed again. After this, every recorded activation equals the index and lies above δ.
 */
async function verifyAgainstIndex(store: Store, home: string, request: SynthesisRequest, space: FeatureSpaceRecord, run: SynthesisRunRecord, threshold: number, control: SynthesisControl): Promise<void> {
  const datasets = new DatasetRepository(store.db);
  const indexes = new FeatureIndexRepository(store.db);
  const synthesis = new SynthesisRepository(store.db);
  const indexer = control.indexer ?? directFeatureIndexer(store, home);
  for (let attempt = 0; attempt < 4; attempt++) {
    const dataset = datasets.get(run.datasetId!)!;
    if (dataset.sampleCount === 0) return;
    await indexer({ ...featureSpaceParams(request), dataset: dataset.name, ...(request.threads ? { threads: request.threads } : {}), ...(request.cpu ? { cpu: true } : {}) }, control.signal ? { signal: control.signal } : {});
    const index = indexes.index(space.id, dataset.id);
    if (index === undefined || index.state !== 'ready') throw new FacetError('INTERNAL', `The synthetic dataset '${dataset.name}' was indexed but its index is not complete.`);
    const below: number[] = [];
    synthesis.transaction(() => {
      for (const entry of synthesis.provenance(run.id)) {
        const stored = indexes.sample(index.id, entry.ordinal);
        const g = stored === undefined ? 0 : activationOf(decodeSampleFeatures(stored.entries), entry.record.feature);
        if (!(g > threshold)) below.push(entry.sampleId);
        else if (g !== entry.record.activation) synthesis.updateProvenanceRecord(entry.sampleId, { ...entry.record, activation: g });
      }
    });
    if (below.length === 0) return;
    removeSyntheticSamples(store, dataset.id, below, `its indexed activation is not above δ = ${threshold}`);
  }
  throw new FacetError('INTERNAL', `The synthetic dataset of run ${run.id} kept losing samples to the final index check; its activations sit too close to δ = ${threshold}.`);
}

/** Indexes the synthetic set and reports FAC of seed and seed ∪ synthetic at each δ, with F as the run's coverage run had it. */
export async function coverageAfter(store: Store, home: string, request: SynthesisRequest, space: FeatureSpaceRecord, run: Pick<SynthesisRunRecord, 'anchorDatasetId' | 'seedDatasetId' | 'coverageRunId' | 'datasetId'>, syntheticName: string, syntheticCount: number, control: SynthesisControl): Promise<SynthesisCoverage[]> {
  const indexes = new FeatureIndexRepository(store.db);
  let syntheticMaxima: Float32Array = new Float32Array(space.dSae);
  if (syntheticCount > 0) {
    const indexer = control.indexer ?? directFeatureIndexer(store, home);
    await indexer({ ...featureSpaceParams(request), dataset: syntheticName, ...(request.threads ? { threads: request.threads } : {}), ...(request.cpu ? { cpu: true } : {}) }, control.signal ? { signal: control.signal } : {});
    const index = indexes.index(space.id, run.datasetId!);
    const totals = index === undefined ? undefined : indexes.totals(index.id);
    if (totals === undefined) throw new FacetError('INTERNAL', `The synthetic dataset '${syntheticName}' was indexed but its index is not complete.`);
    syntheticMaxima = totals.maxima;
  }
  const anchorIndex = indexes.index(space.id, run.anchorDatasetId!);
  const seedIndex = indexes.index(space.id, run.seedDatasetId!);
  const anchorTotals = anchorIndex === undefined ? undefined : indexes.totals(anchorIndex.id);
  const seedTotals = seedIndex === undefined ? undefined : indexes.totals(seedIndex.id);
  if (anchorIndex === undefined || anchorTotals === undefined || seedTotals === undefined) throw new FacetError('NOT_FOUND', 'The anchor or seed index of this run was removed. Measure coverage again.');
  const combined = new Float32Array(space.dSae);
  for (let f = 0; f < space.dSae; f++) combined[f] = Math.max(seedTotals.maxima[f]!, syntheticMaxima[f]!);
  const thresholds = request.reportThresholds ?? [...new Set([request.threshold ?? 0, ...defaultReportThresholds])].filter((delta) => delta >= space.minActivation).sort((a, b) => a - b);
  // F as the coverage run had it: its explicit features, within those judged relevant to its task.
  const coverageRun = run.coverageRunId === null ? undefined : getCoverageRun(store, run.coverageRunId);
  let features: number[] | null = coverageRun?.request.features ?? null;
  if (coverageRun?.request.task !== undefined) {
    const anchorActive: number[] = [];
    for (let f = 0; f < space.dSae; f++) if (anchorTotals.counts[f]! > 0) anchorActive.push(f);
    const relevant = relevantFeaturesOf(store, space.id, coverageRun.request.task, anchorActive).relevant;
    const within = features === null ? null : new Set(features);
    features = within === null ? relevant : relevant.filter((feature) => within.has(feature));
  }
  const anchor = { ...anchorTotals, columns: () => indexes.columnValues(anchorIndex.id) };
  const base = { dSae: space.dSae, anchor, thresholds, features, floor: space.minActivation };
  const before = computeCoverage({ ...base, seedMaxima: seedTotals.maxima, evalMaxima: syntheticMaxima }).results;
  const after = computeCoverage({ ...base, seedMaxima: combined }).results;
  return before.map((result, i) => ({
    threshold: result.threshold,
    seedFac: result.fac,
    combinedFac: after[i]!.fac,
    missingShareActivated: result.missingShareActivatedByEval ?? null,
    missing: result.missing.length,
    missingActivated: result.missingActivatedByEval ?? 0,
  }));
}

function buildReport(store: Store, run: SynthesisRunRecord, datasetName: string, task: string, coverage: SynthesisCoverage[], coherence: CoherenceBound, settings: Settings, seconds: number, gateSeconds: number): SynthesisReport {
  const repository = new SynthesisRepository(store.db);
  const datasets = new DatasetRepository(store.db);
  const accepted: AcceptedSample[] = repository.provenance(run.id).map((entry) => {
    const row = datasets.sample(run.datasetId!, entry.ordinal)!;
    const sample: NormalizedSample = { turns: row.turns, ...(row.label !== undefined ? { label: row.label } : {}), ...(row.pair !== undefined ? { pair: row.pair } : {}), ...(row.meta !== undefined ? { meta: row.meta } : {}) };
    return { feature: entry.record.feature, activation: entry.record.activation, text: sampleText(sample), sample, sampleId: entry.sampleId, record: entry.record };
  });
  const candidates = repository.candidates(run.id);
  const rejected: RejectedCandidate[] = candidates
    .filter((candidate) => (rejectionReasons as readonly string[]).includes(candidate.outcome))
    .map((candidate) => ({
      candidateId: candidate.id,
      feature: candidate.feature,
      step: candidate.step,
      reason: candidate.outcome as RejectedCandidate['reason'],
      activation: candidate.activation,
      perplexity: candidate.perplexity,
      overlap: candidate.overlap,
      steering: candidate.steering,
      detail: candidate.detail,
      raw: candidate.raw.slice(0, 2000),
    }));
  const steering: SteeringSummary[] = settings.strengths.map((strength) => {
    const group = candidates.filter((candidate) => candidate.step === 2 && candidate.steering === strength);
    const passed = group.filter((candidate) => candidate.outcome === 'accepted' || candidate.outcome === 'not-kept').length;
    const perplexities = group.map((candidate) => candidate.perplexity).filter((value): value is number => value !== null);
    return {
      strength,
      candidates: group.length,
      passed,
      acceptance: group.length === 0 ? null : passed / group.length,
      meanPerplexity: perplexities.length === 0 ? null : perplexities.reduce((a, b) => a + b, 0) / perplexities.length,
    };
  });
  const covered = new Set(accepted.map((sample) => sample.feature));
  return {
    runId: run.id,
    dataset: datasetName,
    datasetId: run.datasetId!,
    task,
    anchor: datasets.get(run.anchorDatasetId!)?.name ?? '(removed)',
    seed: datasets.get(run.seedDatasetId!)?.name ?? '(removed)',
    spaceId: run.spaceId,
    coverageRunId: run.coverageRunId,
    features: run.features,
    accepted,
    rejected,
    coverage,
    coherence,
    steering,
    uncovered: run.features.filter((feature) => !covered.has(feature)),
    candidates: candidates.length,
    seconds,
    gateSeconds,
  };
}
