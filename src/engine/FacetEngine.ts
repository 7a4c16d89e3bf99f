import { FacetError, toWireError, type WireError } from '../shared/FacetError.ts';
import {
  methodSchemas,
  type EventName,
  type EventPayloads,
  type MethodName,
  type MethodResult,
  type SystemInfo,
  type ValidatedParams,
} from '../shared/api/contract.ts';
import { createDatasetImportJob, defaultDatasetName, validateImportParams, type DatasetImportParams } from '../core/datasets/datasetImportJob.ts';
import { DatasetRepository } from '../core/datasets/DatasetRepository.ts';
import { createFeatureIndexJob } from '../core/features/featureIndexJob.ts';
import { requireWorkspaceFolder } from '../core/workspace/requireWorkspaceFolder.ts';
import { JobRunner } from '../core/jobs/JobRunner.ts';
import { JobTableWatcher } from '../core/jobs/JobTableWatcher.ts';
import { ACTIVATION_CAPTURE_JOB, createActivationCaptureJob, prepareActivationCapture } from '../core/llama/activationCaptureJob.ts';
import { createModelQuantizeJob, MODEL_QUANTIZE_JOB } from '../core/models/modelQuantizeJob.ts';
import { createSaeCheckJob, prepareSaeCheck, SAE_CHECK_JOB } from '../core/sae/quality/saeCheckJob.ts';
import { createSaeEncodeJob, prepareEncodeFile, SAE_ENCODE_JOB } from '../core/sae/encodeActivationFile.ts';
import { createSaeDecodeJob, prepareDecodeFile, SAE_DECODE_JOB } from '../core/sae/decodeCodesFile.ts';
import { prepareQuantize } from '../core/models/quantizeModel.ts';
import { jobProcessLauncher } from './jobProcessLauncher.ts';
import { InProcessModelCalls, type ModelCalls } from './modelProcessCalls.ts';
import { ModelProcessHost } from './modelProcessHost.ts';
import { createCompareJob, COMPARE_JOB } from '../core/compare/compareJob.ts';
import { compareReportOf } from '../core/compare/compareSpaces.ts';
import { CompareRepository } from '../core/compare/CompareRepository.ts';
import { transferFeatures } from '../core/compare/transferFeatures.ts';
import { createCoverageJob } from '../core/coverage/coverageJob.ts';
import { coverageRunDetail, deleteCoverageRun, getCoverageRun, listCoverageRuns } from '../core/coverage/measureCoverage.ts';
import { checkCoverageDatasets, requireCoverageDatasets } from '../core/coverage/checkCoverageDatasets.ts';
import { requireJudgedTask } from '../core/coverage/requireJudgedTask.ts';
import { compareCoverageRuns, coverageMissingAt, coverageScatter } from '../core/coverage/coverageRunQueries.ts';
import { exportCoverageRun } from '../core/coverage/exportCoverageRun.ts';
import { resolveFeatureSpace, resolveIndexDataset } from '../core/features/resolveFeatureSpace.ts';
import { getFeatureDetail, listFeatureSpaces, queryFeatureTable } from '../core/features/FeatureQueries.ts';
import { createDiversityReportJob, REPORT_JOB } from '../core/evaluate/diversityReport.ts';
import { createProbeJob, PROBE_JOB } from '../core/evaluate/runProbe.ts';
import { createSaeDriftJob, DRIFT_JOB } from '../core/evaluate/saeDrift.ts';
import { createSteerEvalJob, createSteerVectorJob, STEER_EVAL_JOB, STEER_VECTOR_JOB } from '../core/evaluate/steering.ts';
import { createExplainJob, EXPLAIN_JOB } from '../core/interpret/explainFeatures.ts';
import { InterpretationRepository } from '../core/interpret/InterpretationRepository.ts';
import { prepareExplainRequest, prepareJudgeRequest } from '../core/interpret/interpretationRequests.ts';
import { createJudgeJob, JUDGE_JOB } from '../core/interpret/judgeFeatures.ts';
import { createModelAddJob } from '../core/models/modelAddJob.ts';
import { createModelPullJob } from '../core/models/modelPullJob.ts';
import { estimateModelLoad } from '../core/models/estimateModelLoad.ts';
import { requireModelLayer } from '../core/models/requireModelLayer.ts';
import { JobMetricsRepository } from '../core/jobs/JobMetricsRepository.ts';
import { completePath } from '../core/workspace/completePath.ts';
import { setDatasetRole } from '../core/datasets/setDatasetRole.ts';
import { ModelService } from '../core/models/ModelService.ts';
import { toModelSummary } from '../core/models/toModelSummary.ts';
import { SaeRegistry } from '../core/sae/SaeRegistry.ts';
import { SAE_FORMATS, type SaeFormat } from '../core/sae/SaeConfig.ts';
import { createSaeTrainingJob, requireFreeSaeName } from '../core/sae/training/runSaeTraining.ts';
import { resolveModel } from '../core/models/ModelService.ts';
import { toSaeSummary } from '../core/sae/toSaeSummary.ts';
import { Store } from '../core/store/Store.ts';
import { databasePath } from '../core/workspace/resolveFacetHome.ts';
import { join } from 'node:path';
import { exportDataset } from '../core/datasets/exportDataset.ts';
import { listSynthesisCandidates } from '../core/synthesis/listSynthesisCandidates.ts';
import { createSynthesisJob, SYNTHESIS_JOB } from '../core/synthesis/synthesisJob.ts';
import { createPlainSynthesisJob, PLAIN_SYNTHESIS_JOB } from '../core/synthesis/plainSynthesisJob.ts';
import { preparePlainSynthesis } from '../core/synthesis/synthesizePlain.ts';
import { SynthesisRepository } from '../core/synthesis/SynthesisRepository.ts';
import { dropSyntheticSample } from '../core/synthesis/syntheticSamples.ts';
import { prepareSynthesisRequest, type SynthesisRequest } from '../core/synthesis/synthesizeFeatures.ts';

export const facetVersion = '0.1.0';

type Handlers = { [M in MethodName]: (params: ValidatedParams<M>) => Promise<MethodResult<M>> | MethodResult<M> };
export type EngineEvent = { [E in EventName]: { event: E; payload: EventPayloads[E] } }[EventName];

export interface FacetEngineOptions {
  home: string;
  shell: 'cli' | 'serve' | 'electron';
  /** Resume jobs interrupted by a crash when the engine starts. Defaults to true. */
  resumeInterrupted?: boolean;
  /**
   * Run jobs that load models in processes of their own ({@link jobProcessLauncher}), so a native
   * crash fails that job (MODEL_PROCESS_CRASHED) instead of taking the engine down. Defaults to
   * true for `serve` and `electron` (whose bundle has the entries as out/main/jobProcess.js and
   * modelProcess.js), false for the CLI (it is itself one command's process).
   */
  isolateJobs?: boolean;
  /**
   * Run model work outside jobs (chat completions, a feature's token context, editing a synthetic
   * sample, the token view of a compared pair) in model processes ({@link ModelProcessHost}). Defaults to `isolateJobs`.
   */
  isolateModels?: boolean;
  /**
   * Publish `job.updated` for jobs other processes (a CLI in the same workspace) create and
   * update ({@link JobTableWatcher}). Defaults to true for `serve` and `electron`.
   */
  watchJobs?: boolean;
}

/**
 * Binds the API contract to the core services. Every shell talks to one of these: the CLI
 * in-process, Electron through a MessagePort, browsers through a WebSocket.
 */
export class FacetEngine {
  readonly store: Store;
  readonly jobs: JobRunner;
  readonly home: string;
  /** Model work outside jobs: in model processes (serve, desktop) or in this process (CLI). */
  readonly modelCalls: ModelCalls;
  private readonly shell: FacetEngineOptions['shell'];
  private readonly datasets: DatasetRepository;
  private readonly models: ModelService;
  private readonly saes: SaeRegistry;
  private readonly listeners = new Set<(event: EngineEvent) => void>();
  private readonly handlers: Handlers;
  private readonly jobWatcher: JobTableWatcher | null;

  constructor(options: FacetEngineOptions) {
    this.home = options.home;
    this.shell = options.shell;
    requireWorkspaceFolder(options.home);
    this.store = Store.open(databasePath(options.home));
    this.datasets = new DatasetRepository(this.store.db);
    const isolate = options.isolateJobs ?? options.shell !== 'cli';
    this.jobs = new JobRunner(this.store, isolate ? { processes: jobProcessLauncher(options.home) } : {});
    this.modelCalls = (options.isolateModels ?? isolate) ? new ModelProcessHost(options.home, this.store) : new InProcessModelCalls(this.store, options.home);
    this.models = new ModelService(this.store);
    this.saes = new SaeRegistry(this.store, this.home);
    this.jobs.register(createDatasetImportJob(this.store));
    this.jobs.register(createModelAddJob(this.store));
    this.jobs.register(createModelPullJob(this.store));
    this.jobs.register(createSaeTrainingJob(this.store, this.home));
    this.jobs.register(createFeatureIndexJob(this.store, this.home));
    this.jobs.register(createCoverageJob(this.store, this.home));
    this.jobs.register(createExplainJob(this.store, this.home));
    this.jobs.register(createJudgeJob(this.store, this.home));
    this.jobs.register(createDiversityReportJob(this.store, this.home));
    this.jobs.register(createProbeJob(this.store));
    this.jobs.register(createSteerVectorJob(this.store));
    this.jobs.register(createSteerEvalJob(this.store));
    this.jobs.register(createSaeDriftJob(this.store, this.home));
    this.jobs.register(createSynthesisJob(this.store, this.home));
    this.jobs.register(createPlainSynthesisJob(this.store, this.home));
    this.jobs.register(createCompareJob(this.store, this.home));
    this.jobs.register(createActivationCaptureJob());
    this.jobs.register(createModelQuantizeJob(this.store));
    this.jobs.register(createSaeCheckJob(this.store, this.home));
    this.jobs.register(createSaeEncodeJob(this.store, this.home));
    this.jobs.register(createSaeDecodeJob(this.store, this.home));
    this.jobs.subscribe((job) => {
      this.emit({ event: 'job.updated', payload: job });
      const finished = job.state === 'done' || job.state === 'failed' || job.state === 'cancelled';
      if (finished && job.kind === 'dataset.import') this.emit({ event: 'datasets.changed', payload: {} });
      if (finished && (job.kind === 'model.add' || job.kind === 'sae.train')) this.emit({ event: 'models.changed', payload: {} });
      if (finished && job.kind === 'model.pull') this.emit({ event: 'models.changed', payload: {} });
      if (finished && job.kind === MODEL_QUANTIZE_JOB) this.emit({ event: 'models.changed', payload: {} });
      if (finished && (job.kind === SYNTHESIS_JOB || job.kind === PLAIN_SYNTHESIS_JOB)) {
        this.emit({ event: 'datasets.changed', payload: {} });
        this.emit({ event: 'features.changed', payload: {} });
      }
      if (finished && (job.kind === 'coverage.measure' || job.kind === 'features.index' || job.kind === EXPLAIN_JOB || job.kind === JUDGE_JOB || job.kind === COMPARE_JOB)) this.emit({ event: 'features.changed', payload: {} });
    });
    this.handlers = this.createHandlers();
    this.jobWatcher = (options.watchJobs ?? options.shell !== 'cli') ? new JobTableWatcher(this.store, (id) => this.jobs.get(id), (job) => this.jobs.publish(job)) : null;
    if (options.resumeInterrupted ?? true) {
      this.jobs.resumeInterrupted(); // a job whose process keeps dying is failed, not resumed again
    }
  }

  /** Validates raw parameters against the contract and runs the method. Throws FacetError. */
  async call<M extends MethodName>(method: M, rawParams: unknown): Promise<MethodResult<M>> {
    const schema = methodSchemas[method];
    if (schema === undefined) throw new FacetError('INVALID_ARGUMENT', `Unknown API method '${String(method)}'.`, { method });
    const parsed = schema.safeParse(rawParams ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new FacetError('INVALID_ARGUMENT', `Invalid parameters for ${method}: ${issue ? `${issue.path.join('.') || '(params)'}: ${issue.message}` : 'invalid'}.`, { method, issues: parsed.error.issues });
    }
    const handler = this.handlers[method] as (params: unknown) => Promise<MethodResult<M>> | MethodResult<M>;
    return handler(parsed.data);
  }

  /** Same as {@link call} but never throws: the result or a wire error, for transports. */
  async callForWire(method: string, rawParams: unknown): Promise<{ ok: true; result: unknown } | { ok: false; error: WireError }> {
    try {
      if (!Object.hasOwn(methodSchemas, method)) throw new FacetError('INVALID_ARGUMENT', `Unknown API method '${method}'.`, { method });
      return { ok: true, result: await this.call(method as MethodName, rawParams) };
    } catch (error) {
      return { ok: false, error: toWireError(error) };
    }
  }

  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.jobWatcher?.close();
    await this.jobs.close();
    await this.modelCalls.close();
    this.store.close();
  }

  private emit(event: EngineEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private requireDataset(id: number) {
    const dataset = this.datasets.get(id);
    if (dataset === undefined) throw new FacetError('NOT_FOUND', `No dataset with id ${id}.`, { id });
    return dataset;
  }

  private createHandlers(): Handlers {
    return {
      'system.info': (): SystemInfo => ({ version: facetVersion, home: this.home, shell: this.shell, canPickFiles: this.shell === 'electron' }),
      'datasets.list': () => this.datasets.list(),
      'datasets.get': ({ id }) => this.requireDataset(id),
      'datasets.samples': ({ id, offset, limit }) => {
        const dataset = this.requireDataset(id);
        return { total: dataset.sampleCount, offset, samples: this.datasets.samples(id, offset, limit) };
      },
      'datasets.import': async (params) => {
        const validated: DatasetImportParams = await validateImportParams(this.store, {
          path: params.path,
          name: params.name ?? defaultDatasetName(params.path),
          format: params.format,
          role: params.role,
          skipInvalid: params.skipInvalid,
        });
        return this.jobs.submit('dataset.import', validated);
      },
      'datasets.setRole': ({ id, role }) => {
        const dataset = setDatasetRole(this.store, id, role);
        this.emit({ event: 'datasets.changed', payload: {} });
        return dataset;
      },
      'datasets.search': ({ id, query, offset, limit }) => {
        this.requireDataset(id);
        return { offset, ...this.datasets.search(id, query, offset, limit) };
      },
      'datasets.remove': ({ id }) => {
        this.requireDataset(id);
        const removed = this.datasets.remove(id);
        this.emit({ event: 'datasets.changed', payload: {} });
        return { removed };
      },
      'models.list': () => this.models.list().map(toModelSummary),
      'models.add': async (params) => {
        await this.models.precheck(params.path, params.name); // a wrong path or a taken name is told now, not by a failed job
        return this.jobs.submit('model.add', params);
      },
      'files.complete': ({ prefix, extensions }) => completePath(prefix, extensions),
      'models.estimate': ({ model, contextSize, kv, cpu }) => estimateModelLoad(this.store, model, { ...(contextSize !== undefined ? { contextSize } : {}), kvType: kv, ...(cpu ? { gpu: false as const } : {}) }),
      'models.pull': (params) => this.jobs.submit('model.pull', params),
      'saes.import': async ({ path, name, layer, model, format }) => {
        if (format !== undefined && !(SAE_FORMATS as readonly string[]).includes(format)) throw new FacetError('INVALID_ARGUMENT', `Unknown SAE format '${format}'. Use ${SAE_FORMATS.join(', ')}, or leave it out to detect.`, { param: 'format', format });
        const record = await this.saes.importSae(path, { ...(name !== undefined ? { name } : {}), ...(layer !== undefined ? { layer } : {}), ...(model !== undefined ? { modelFamily: model } : {}), ...(format !== undefined ? { format: format as SaeFormat } : {}) });
        this.emit({ event: 'models.changed', payload: {} });
        return toSaeSummary(record);
      },
      'saes.remove': async ({ name }) => {
        const record = await this.saes.remove(name);
        this.emit({ event: 'models.changed', payload: {} });
        return { removed: record.name };
      },
      'jobs.metrics': ({ id, afterSeq, limit }) => {
        this.jobs.get(id);
        return new JobMetricsRepository(this.store.db).after(id, afterSeq, limit);
      },
      'models.remove': ({ name }) => {
        const removed = this.models.remove(name);
        this.emit({ event: 'models.changed', payload: {} });
        return { removed: removed.name };
      },
      'saes.list': () => this.saes.list().map(toSaeSummary),
      'saes.train': async (params) => {
        // Names are checked now so a typo fails at once rather than inside the job.
        await resolveModel(this.store, params.model);
        await requireModelLayer(this.store, params.model, params.layer);
        await requireFreeSaeName(this.store, this.home, params);
        if (params.k > params.features) throw new FacetError('INVALID_ARGUMENT', `K (${params.k}) cannot exceed the number of features (${params.features}).`, { param: 'k', k: params.k, features: params.features });
        resolveIndexDataset(this.store, params.dataset);
        const { kAnnealFrom, ...rest } = params;
        return this.jobs.submit('sae.train', { ...rest, ...(kAnnealFrom !== undefined ? { kAnnealFrom } : {}) });
      },
      'features.spaces': () => listFeatureSpaces(this.store),
      'features.table': ({ spaceId, sort, descending, offset, limit, only, exclude, dataset, activeIn, absentIn }) =>
        queryFeatureTable(this.store, { spaceId, sort, offset, limit, ...(descending !== undefined ? { descending } : {}), ...(only !== undefined ? { only } : {}), ...(exclude !== undefined ? { exclude } : {}), ...(dataset !== undefined ? { dataset } : {}), ...(activeIn !== undefined ? { activeIn } : {}), ...(absentIn !== undefined ? { absentIn } : {}) }),
      'features.detail': ({ spaceId, feature, spans, dataset }) => getFeatureDetail(this.store, spaceId, feature, { spans, ...(dataset !== undefined ? { dataset } : {}) }),
      'features.context': (params) => this.modelCalls.run('features.context', params),
      'features.explain': async (params) => this.jobs.submit(EXPLAIN_JOB, await prepareExplainRequest(this.store, this.home, params)),
      'features.judge': async (params) => this.jobs.submit(JUDGE_JOB, await prepareJudgeRequest(this.store, this.home, params)),
      'features.interpretations': ({ spaceId, features }) => {
        const repository = new InterpretationRepository(this.store.db);
        const explanations = [...repository.bestExplanations(spaceId, features).values()];
        const tasks = repository.tasks(spaceId);
        const wanted = new Set(features);
        const verdicts = tasks.flatMap((task) => [...repository.latestVerdicts(spaceId, task).values()].filter((verdict) => wanted.has(verdict.feature)));
        return { explanations, verdicts, tasks };
      },
      'features.interpretation': ({ spaceId, feature }) => {
        const repository = new InterpretationRepository(this.store.db);
        return { explanations: repository.explanationsOf(spaceId, feature), verdicts: repository.verdictsOf(spaceId, feature) };
      },
      'features.verdicts': ({ spaceId, task }) => [...new InterpretationRepository(this.store.db).latestVerdicts(spaceId, task).values()],
      'features.search': ({ query, spaceId, limit }) => new InterpretationRepository(this.store.db).search(spaceId, query, limit),
      'coverage.run': async (params) => {
        const request = { topMissing: 20, spansPerFeature: 3, ...params };
        // Names are checked now so a typo fails at once rather than inside the job.
        const resolvedSpace = await resolveFeatureSpace(this.store, this.home, request);
        for (const dataset of [params.anchor, params.seed, ...(params.eval !== undefined ? [params.eval] : [])]) resolveIndexDataset(this.store, dataset);
        requireCoverageDatasets(this.store, params.anchor, params.seed, params.eval);
        if (params.task !== undefined) requireJudgedTask(this.store, resolvedSpace, params.task);
        return this.jobs.submit('coverage.measure', request);
      },
      'evaluate.report': async (params) => {
        // Names are checked now so a typo fails at once rather than inside the job.
        await resolveFeatureSpace(this.store, this.home, params);
        for (const dataset of [...params.datasets, ...(params.anchor !== undefined ? [params.anchor] : [])]) resolveIndexDataset(this.store, dataset);
        const { cpu, ...rest } = params;
        return this.jobs.submit(REPORT_JOB, { ...rest, ...(cpu ? { cpu } : {}) });
      },
      'compare.run': async ({ a, b, datasets, minSupport, top, threshold, template, threads, cpu }) => {
        // Names are checked now so a typo fails at once rather than inside the job.
        await resolveFeatureSpace(this.store, this.home, { ...a, template });
        await resolveFeatureSpace(this.store, this.home, { ...b, template });
        for (const dataset of datasets) resolveIndexDataset(this.store, dataset);
        return this.jobs.submit(COMPARE_JOB, { a: { ...a, template }, b: { ...b, template }, datasets, minSupport, top, threshold, ...(threads !== undefined ? { threads } : {}), ...(cpu ? { cpu } : {}) });
      },
      'compare.runs': ({ limit }) =>
        new CompareRepository(this.store.db).list(limit).map((run) => {
          const { pairs: _pairs, indexing: _indexing, ...rest } = compareReportOf(this.store, run.id, { reused: true, pairs: false });
          return rest;
        }),
      'compare.get': ({ id }) => {
        const { indexing: _indexing, ...rest } = compareReportOf(this.store, id, { reused: true });
        return rest;
      },
      'compare.transfer': (params) => transferFeatures(this.store, params),
      'compare.tokens': (params) => this.modelCalls.run('compare.tokens', params),
      'evaluate.probe': async (params) => {
        await resolveModel(this.store, params.model);
        for (const dataset of [...params.train.flat(), params.eval]) resolveIndexDataset(this.store, dataset);
        const { cpu, threads, ...rest } = params;
        return this.jobs.submit(PROBE_JOB, { ...rest, ...(cpu ? { cpu } : {}), ...(threads !== undefined ? { threads } : {}) });
      },
      'evaluate.steerVector': async (params) => {
        await resolveModel(this.store, params.model);
        resolveIndexDataset(this.store, params.dataset);
        const { cpu, ...rest } = params;
        return this.jobs.submit(STEER_VECTOR_JOB, { ...rest, ...(cpu ? { cpu } : {}) });
      },
      'evaluate.steerEval': async (params) => {
        await resolveModel(this.store, params.model);
        resolveIndexDataset(this.store, params.dataset);
        const { cpu, ...rest } = params;
        return this.jobs.submit(STEER_EVAL_JOB, { ...rest, ...(cpu ? { cpu } : {}) });
      },
      'evaluate.drift': async (params) => {
        for (const model of params.models) await resolveModel(this.store, model);
        this.saes.get(params.sae);
        resolveIndexDataset(this.store, params.dataset);
        const { cpu, ...rest } = params;
        return this.jobs.submit(DRIFT_JOB, { ...rest, ...(cpu ? { cpu } : {}) });
      },
      'coverage.runs': ({ limit }) => listCoverageRuns(this.store, limit).map(coverageRunDetail),
      'coverage.get': ({ id }) => coverageRunDetail(getCoverageRun(this.store, id)),
      'coverage.check': ({ anchor, seed, eval: evaluated }) => checkCoverageDatasets(this.store, anchor, seed, evaluated),
      'coverage.missing': ({ id, threshold, limit }) => coverageMissingAt(this.store, id, threshold, limit),
      'coverage.scatter': ({ id, threshold, limit }) => coverageScatter(this.store, id, threshold, limit),
      'coverage.compare': ({ a, b }) => compareCoverageRuns(this.store, a, b),
      'coverage.export': ({ id, format }) => exportCoverageRun(this.store, id, format),
      'coverage.delete': ({ id }) => {
        const deleted = deleteCoverageRun(this.store, id);
        this.emit({ event: 'features.changed', payload: {} });
        return deleted;
      },
      'synthesis.run': async ({ generator, parallel, features, ...rest }) => {
        const request: SynthesisRequest = { ...rest, features: features as SynthesisRequest['features'], generator: { ...(generator !== undefined ? { model: generator } : {}), parallel, ...(rest.cpu ? { cpu: true } : {}) } };
        return this.jobs.submit(SYNTHESIS_JOB, await prepareSynthesisRequest(this.store, this.home, request));
      },
      'synthesis.plain': (params) => this.jobs.submit(PLAIN_SYNTHESIS_JOB, preparePlainSynthesis(this.store, params)),
      'synthesis.runs': ({ limit }) => new SynthesisRepository(this.store.db).listRuns(limit),
      'synthesis.candidates': ({ runId, afterId, limit }) => listSynthesisCandidates(this.store, runId, afterId, limit),
      'synthesis.editSample': async ({ sampleId, text, turn }) => {
        const result = await this.modelCalls.run('synthesis.editSample', { sampleId, text, turn });
        this.emit({ event: 'datasets.changed', payload: {} });
        return result;
      },
      'synthesis.dropSample': ({ sampleId }) => {
        dropSyntheticSample(this.store, sampleId);
        this.emit({ event: 'datasets.changed', payload: {} });
        return { removed: true };
      },
      'datasets.export': ({ id, format, out, parquet }) => {
        const dataset = this.requireDataset(id);
        return exportDataset(this.store, { dataset: String(id), format, parquet, out: out ?? join(this.home, 'exports', `${dataset.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`) });
      },
      'jobs.list': ({ limit }) => this.jobs.list(limit),
      'jobs.get': ({ id }) => this.jobs.get(id),
      'jobs.cancel': ({ id }) => this.jobs.cancel(id),
      'jobs.resume': ({ id }) => this.jobs.resume(id),
      'jobs.dismiss': ({ id }) => (id !== undefined ? [this.jobs.dismiss(id)] : this.jobs.dismissFinished()),
      'activations.capture': async (params) => this.jobs.submit(ACTIVATION_CAPTURE_JOB, await prepareActivationCapture(this.store, params)),
      'saes.check': async (params) => this.jobs.submit(SAE_CHECK_JOB, await prepareSaeCheck(this.store, this.home, params)),
      'saes.encode': async (params) => this.jobs.submit(SAE_ENCODE_JOB, await prepareEncodeFile(this.store, this.home, params)),
      'saes.decode': async (params) => this.jobs.submit(SAE_DECODE_JOB, await prepareDecodeFile(this.store, this.home, params)),
      'models.quantize': async (params) => {
        await prepareQuantize(this.store, params); // a wrong type, model or output is told now, not by a failed job
        return this.jobs.submit(MODEL_QUANTIZE_JOB, params);
      },
    };
  }
}
