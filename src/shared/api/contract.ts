import { z } from 'zod';
import { datasetFormats, datasetRoles, type DatasetSummary, type SampleRow } from '../datasetTypes.ts';
import type { JobSnapshot } from '../jobTypes.ts';
import type { CompareRunView, PairTokenView, TransferResult } from '../compareTypes.ts';
import { coverageExportFormats, type CoverageCheck, type CoverageComparison, type CoverageExport, type CoverageMissingPage, type CoverageRunDetail, type CoverageScatter } from '../coverageTypes.ts';
import type { FeatureDetail, FeatureSpaceView, FeatureSpanContexts, FeatureTablePage } from '../featureTypes.ts';
import type { FeatureExplanationView, FeatureVerdictView } from '../interpretationTypes.ts';
import type { JobMetricPoint, ModelLoadEstimate, ModelSummary, PathCompletion, SaeSummary } from '../registryTypes.ts';
import { exportFormats, synthesisTasks, type DatasetExportView, type SynthesisCandidateView, type SynthesisRunView } from '../synthesisTypes.ts';

/**
 * The one API contract between Facet's engine and every shell (CLI in-process, Electron over a
 * MessagePort, browsers over a WebSocket). Each method is defined once: its parameter schema
 * (validated at the engine boundary) and its result type.
 */
/** What names a feature space in a request: its id, or model + SAE names and the options it was indexed with. */
const featureSpaceFields = {
  spaceId: z.number().int().positive().optional(),
  model: z.string().min(1).optional(),
  sae: z.string().min(1).optional(),
  layer: z.number().int().min(0).optional(),
  encode: z.enum(['topk', 'dense-relu']).optional(),
  template: z.boolean().default(true),
  kv: z.enum(['f16', 'f32']).optional(),
  /** Run on the CPU even where a GPU is available. */
  cpu: z.boolean().default(false),
};

/** An OpenAI-compatible endpoint; the key is read from the named environment variable on the engine's machine. */
const endpointSchema = z
  .object({
    baseUrl: z.string().url().max(2000),
    model: z.string().min(1).max(200),
    keyVariable: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
  })
  .strict();

const featureSelectionSchema = z.union([z.literal('anchor'), z.string().regex(/^missing:\d+$/), z.array(z.number().int().min(0)).min(1).max(1 << 20)]);

export const methodSchemas = {
  'system.info': z.object({}).strict(),
  'datasets.list': z.object({}).strict(),
  'datasets.get': z.object({ id: z.number().int().positive() }).strict(),
  'datasets.samples': z
    .object({ id: z.number().int().positive(), offset: z.number().int().min(0), limit: z.number().int().min(1).max(1000) })
    .strict(),
  'datasets.import': z
    .object({
      path: z.string().min(1),
      name: z.string().min(1).max(200).optional(),
      format: z.enum(['auto', ...datasetFormats]).default('auto'),
      role: z.enum(datasetRoles).default('seed'),
      skipInvalid: z.boolean().default(false),
    })
    .strict(),
  'datasets.remove': z.object({ id: z.number().int().positive() }).strict(),
  /** Changes a dataset's role (seed, anchor, eval); `synthetic` is only for sets FAC Synthesis wrote. */
  'datasets.setRole': z.object({ id: z.number().int().positive(), role: z.enum(datasetRoles) }).strict(),
  /** Samples whose text contains `query` (case-insensitive for ASCII), in file order, paged. */
  'datasets.search': z.object({ id: z.number().int().positive(), query: z.string().min(1).max(500), offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(1000).default(50) }).strict(),
  'models.list': z.object({}).strict(),
  'models.add': z.object({ path: z.string().min(1), name: z.string().min(1).max(200).optional() }).strict(),
  'models.remove': z.object({ name: z.string().min(1) }).strict(),
  /** Folders and files (with one of `extensions`) on the engine's machine that complete a typed path. */
  'files.complete': z.object({ prefix: z.string().max(4096), extensions: z.array(z.string().min(1).max(32)).max(20).default(['.gguf']) }).strict(),
  /** Parameter count, weights, KV cache at a context size, and the RAM/VRAM free, before loading a model. */
  'models.estimate': z.object({ model: z.string().min(1), contextSize: z.number().int().min(1).max(1 << 22).optional(), kv: z.enum(['f16', 'f32']).default('f16'), cpu: z.boolean().default(false) }).strict(),
  /** Downloads a model (hf: URI or http(s) URL) into the workspace and registers it, as a job with byte progress. */
  'models.pull': z.object({ uri: z.string().min(1).max(4096), name: z.string().min(1).max(200).optional(), stallTimeoutSeconds: z.number().positive().max(3600).optional() }).strict(),
  /** Validates an SAE (folder or file on the engine's machine), copies it into the workspace and registers it. */
  'saes.import': z
    .object({
      path: z.string().min(1).max(4096),
      name: z.string().min(1).max(128).optional(),
      layer: z.number().int().min(0).optional(),
      model: z.string().min(1).max(200).optional(),
      format: z.string().min(1).max(64).optional(),
    })
    .strict(),
  /** Forgets an SAE and deletes its copy in the workspace. */
  'saes.remove': z.object({ name: z.string().min(1) }).strict(),
  /** A job's metric series (SAE training: normalised MSE, L0, dead features per step) after `afterSeq`. */
  'jobs.metrics': z.object({ id: z.string().min(1), afterSeq: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(20_000).default(5000) }).strict(),
  'saes.list': z.object({}).strict(),
  'saes.train': z
    .object({
      model: z.string().min(1),
      /** llama.cpp 0-based `l_out` block index. */
      layer: z.number().int().min(0),
      dataset: z.string().min(1),
      name: z.string().min(1).max(200).optional(),
      features: z.number().int().min(8).max(1 << 20).default(65_536),
      k: z.number().int().min(1).max(1024).default(20),
      epochs: z.number().int().min(1).max(100).default(3),
      learningRate: z.number().positive().max(1).default(1e-3),
      batchTokens: z.number().int().min(16).max(1 << 20).default(4096),
      kAnnealFrom: z.number().int().min(1).optional(),
      /** The rest of the CLI's options (`facet sae train`), so it runs the same job. */
      kAnnealSteps: z.number().int().min(1).optional(),
      validationFraction: z.number().min(0).lt(0.5).optional(),
      seed: z.number().int().min(0).optional(),
      maxTokens: z.number().int().min(2).max(1 << 16).optional(),
      template: z.boolean().optional(),
      threads: z.number().int().min(1).optional(),
      device: z.enum(['auto', 'cpu', 'cuda']).optional(),
      cpuModel: z.boolean().optional(),
      fresh: z.boolean().optional(),
      checkpointEverySeconds: z.number().positive().optional(),
      exportPth: z.string().min(1).optional(),
    })
    .strict(),
  'features.spaces': z.object({}).strict(),
  'features.table': z
    .object({
      spaceId: z.number().int().positive(),
      sort: z.enum(['feature', 'count', 'mean', 'max']).default('count'),
      descending: z.boolean().optional(),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(1000).default(100),
      only: z.array(z.number().int().min(0)).max(1 << 20).optional(),
      exclude: z.array(z.number().int().min(0)).max(1 << 20).optional(),
      /** Counts, means, maxima and the sort over this dataset only. */
      dataset: z.number().int().positive().optional(),
      /** Only features active in this dataset and absent from `absentIn`. */
      activeIn: z.number().int().positive().optional(),
      absentIn: z.number().int().positive().optional(),
    })
    .strict(),
  'features.detail': z.object({ spaceId: z.number().int().positive(), feature: z.number().int().min(0), spans: z.number().int().min(1).max(50).default(10), dataset: z.number().int().positive().optional() }).strict(),
  /** Tokens around a feature's peak in some samples, with its code at each token (runs the model on samples not cached). */
  'features.context': z
    .object({
      spaceId: z.number().int().positive(),
      feature: z.number().int().min(0),
      samples: z.array(z.object({ datasetId: z.number().int().positive(), ordinal: z.number().int().min(0) }).strict()).min(1).max(50),
      before: z.number().int().min(0).max(256).default(24),
      after: z.number().int().min(0).max(256).default(12),
    })
    .strict(),
  'features.explain': z
    .object({
      ...featureSpaceFields,
      /** Registered local model (or .gguf path) that writes; defaults to the space's own model. */
      explainer: z.string().min(1).optional(),
      endpoint: endpointSchema.optional(),
      /** `anchor` (default), `missing:<coverage run id>`, or feature ids. */
      features: featureSelectionSchema.default('anchor'),
      limit: z.number().int().min(1).max(1 << 20).optional(),
      candidates: z.number().int().min(1).max(16).default(3),
      parallel: z.number().int().min(1).max(64).default(8),
      seed: z.number().int().min(0).max(2 ** 31).default(0),
    })
    .strict(),
  'features.judge': z
    .object({
      ...featureSpaceFields,
      /** A built-in task name, or the path of a rubric file on the engine's machine. */
      task: z.string().min(1).max(4096),
      judge: z.string().min(1).optional(),
      endpoint: endpointSchema.optional(),
      features: featureSelectionSchema.default('anchor'),
      limit: z.number().int().min(1).max(1 << 20).optional(),
      parallel: z.number().int().min(1).max(64).default(8),
      seed: z.number().int().min(0).max(2 ** 31).default(0),
    })
    .strict(),
  /** Explanations and verdicts of many features (the feature table's columns). */
  'features.interpretations': z.object({ spaceId: z.number().int().positive(), features: z.array(z.number().int().min(0)).max(2000) }).strict(),
  /** Every explanation and the newest verdict per task of one feature. */
  'features.interpretation': z.object({ spaceId: z.number().int().positive(), feature: z.number().int().min(0) }).strict(),
  /** The newest verdict of every judged feature of a space for one task. */
  'features.verdicts': z.object({ spaceId: z.number().int().positive(), task: z.string().min(1).max(200) }).strict(),
  'features.search': z.object({ query: z.string().min(1).max(500), spaceId: z.number().int().positive().optional(), limit: z.number().int().min(1).max(500).default(50) }).strict(),
  'coverage.run': z
    .object({
      model: z.string().min(1),
      sae: z.string().min(1),
      anchor: z.string().min(1),
      seed: z.string().min(1),
      eval: z.string().min(1).optional(),
      thresholds: z.array(z.number().min(0)).min(1).max(12).default([0]),
      encode: z.enum(['topk', 'dense-relu']).default('topk'),
      template: z.boolean().default(true),
      layer: z.number().int().min(0).optional(),
      /** Count only the features judged relevant to this task (built-in name or rubric task name). */
      task: z.string().min(1).max(200).optional(),
      /** The rest of the CLI's options (`facet coverage`), so it runs the same job. */
      features: z.array(z.number().int().min(0)).max(1 << 20).optional(),
      kv: z.enum(['f16', 'f32']).optional(),
      maxTokens: z.number().int().min(2).max(1 << 16).optional(),
      minActivation: z.number().min(0).optional(),
      threads: z.number().int().min(1).optional(),
      cpu: z.boolean().optional(),
      topMissing: z.number().int().min(1).max(1000).optional(),
      spansPerFeature: z.number().int().min(1).max(50).optional(),
    })
    .strict(),
  'evaluate.report': z
    .object({
      model: z.string().min(1),
      sae: z.string().min(1),
      datasets: z.array(z.string().min(1)).min(1).max(20),
      anchor: z.string().min(1).optional(),
      thresholds: z.array(z.number().min(0)).min(1).max(12).default([0, 1, 2]),
      layer: z.number().int().min(0).optional(),
      encode: z.enum(['topk', 'dense-relu']).optional(),
      template: z.boolean().default(true),
      kv: z.enum(['f16', 'f32']).optional(),
      embeddingCap: z.number().int().min(2).max(20_000).default(1000),
      selfBleuCap: z.number().int().min(2).max(20_000).default(500),
      threads: z.number().int().min(1).max(1024).optional(),
      cpu: z.boolean().default(false),
    })
    .strict(),
  'evaluate.probe': z
    .object({
      kind: z.enum(['classify', 'reward']),
      model: z.string().min(1),
      train: z.array(z.array(z.string().min(1)).min(1).max(20)).min(1).max(10),
      eval: z.string().min(1),
      labelField: z.string().min(1).max(200).default('label'),
      epochs: z.number().int().min(1).max(10_000).default(15),
      learningRate: z.number().min(0).max(10).default(0.01),
      l2: z.number().min(0).max(100).default(1e-3),
      seeds: z.array(z.number().int().min(0).max(2 ** 31)).min(1).max(20).default([0, 1, 2]),
      template: z.boolean().default(true),
      maxTokens: z.number().int().min(2).max(32_768).default(512),
      threads: z.number().int().min(1).max(1024).optional(),
      cpu: z.boolean().default(false),
    })
    .strict(),
  'evaluate.steerVector': z
    .object({
      model: z.string().min(1),
      dataset: z.string().min(1),
      /** llama.cpp 0-based block whose output (l_out) is steered; ≥ 1. */
      layer: z.number().int().min(1),
      out: z.string().min(1),
      controlVector: z.string().min(1).optional(),
      limit: z.number().int().min(1).optional(),
      threads: z.number().int().min(1).max(1024).optional(),
      cpu: z.boolean().default(false),
    })
    .strict(),
  'evaluate.steerEval': z
    .object({
      model: z.string().min(1),
      vector: z.string().min(1),
      dataset: z.string().min(1),
      multipliers: z.array(z.number().min(-1000).max(1000)).min(1).max(50).default([-1, -0.5, 0, 0.5, 1]),
      limit: z.number().int().min(1).optional(),
      threads: z.number().int().min(1).max(1024).optional(),
      cpu: z.boolean().default(false),
    })
    .strict(),
  'evaluate.drift': z
    .object({
      sae: z.string().min(1),
      models: z.array(z.string().min(1)).min(2).max(12),
      dataset: z.string().min(1),
      threshold: z.number().min(0).default(0),
      layer: z.number().int().min(0).optional(),
      tokens: z.number().int().min(16).max(1 << 24).default(16_384),
      template: z.boolean().default(true),
      threads: z.number().int().min(1).max(1024).optional(),
      cpu: z.boolean().default(false),
    })
    .strict(),
  'coverage.runs': z.object({ limit: z.number().int().min(1).max(200).default(20) }).strict(),
  'coverage.get': z.object({ id: z.number().int().positive() }).strict(),
  /** Warnings (roles that do not fit) or the error (anchor = seed) a run with these datasets would get. */
  'coverage.check': z.object({ anchor: z.string().min(1), seed: z.string().min(1), eval: z.string().min(1).optional() }).strict(),
  /** Missing features of a run at one of its δ, ranked, with spans from the anchor only. */
  'coverage.missing': z.object({ id: z.number().int().positive(), threshold: z.number().min(0), limit: z.number().int().min(1).max(500).default(20) }).strict(),
  /** Per feature: share of anchor vs seed samples that activate it at δ. */
  'coverage.scatter': z.object({ id: z.number().int().positive(), threshold: z.number().min(0), limit: z.number().int().min(1).max(20000).default(4000) }).strict(),
  /** Two runs side by side: FAC per δ, features newly covered / lost. */
  'coverage.compare': z.object({ a: z.number().int().positive(), b: z.number().int().positive() }).strict(),
  'coverage.export': z.object({ id: z.number().int().positive(), format: z.enum(coverageExportFormats) }).strict(),
  'coverage.delete': z.object({ id: z.number().int().positive() }).strict(),
  /** FAC Synthesis as a job: samples aimed at the features the seed misses against the anchor, each verified. */
  'synthesis.run': z
    .object({
      model: z.string().min(1),
      sae: z.string().min(1),
      layer: z.number().int().min(0).optional(),
      encode: z.enum(['topk', 'dense-relu']).optional(),
      template: z.boolean().default(true),
      kv: z.enum(['f16', 'f32']).optional(),
      cpu: z.boolean().default(false),
      anchor: z.string().min(1),
      seed: z.string().min(1),
      task: z.enum(synthesisTasks),
      /** Spec file of a custom task on the engine's machine. */
      taskSpec: z.string().min(1).max(4096).optional(),
      /** Registered local model (or .gguf path) that writes; defaults to the measuring model. */
      generator: z.string().min(1).optional(),
      /** `missing` (measure now), `missing:<coverage run id>`, or feature ids. */
      features: z.union([z.literal('missing'), z.string().regex(/^missing:\d+$/), z.array(z.number().int().min(0)).min(1).max(1 << 20)]).default('missing'),
      relevantOnly: z.boolean().default(false),
      limit: z.number().int().min(1).max(1 << 20).optional(),
      threshold: z.number().min(0).default(0),
      reportThresholds: z.array(z.number().min(0)).min(1).max(12).optional(),
      candidates: z.number().int().min(1).max(32).default(2),
      contrast: z.number().int().min(1).max(32).default(2),
      keep: z.number().int().min(1).max(32).default(1),
      temperature: z.number().min(0).max(5).default(0.8),
      topP: z.number().min(0).max(1).default(0.9),
      samplerSeed: z.number().int().min(0).max(2 ** 31).default(0),
      maxNewTokens: z.number().int().min(8).max(4096).optional(),
      steer: z.array(z.number().min(-1000).max(1000)).max(8).optional(),
      coherence: z.boolean().default(true),
      parallel: z.number().int().min(1).max(64).default(8),
      name: z.string().min(1).max(200).optional(),
    })
    .strict(),
  'synthesis.runs': z.object({ limit: z.number().int().min(1).max(200).default(20) }).strict(),
  /** A run's candidates (all, or those after `afterId`), for the live view. */
  'synthesis.candidates': z.object({ runId: z.number().int().positive(), afterId: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(5000).default(1000) }).strict(),
  /** Replace an accepted sample's text; it is measured again and refused at or below δ. */
  'synthesis.editSample': z.object({ sampleId: z.number().int().positive(), text: z.string().min(1).max(100_000), turn: z.number().int().min(0).default(0) }).strict(),
  'synthesis.dropSample': z.object({ sampleId: z.number().int().positive() }).strict(),
  /** The same-budget plain baseline of a finished synthesis run (same generator, task, sampling and gate; no feature targets), as a job. */
  'synthesis.plain': z
    .object({
      like: z.number().int().positive(),
      count: z.number().int().min(1).max(100_000).optional(),
      name: z.string().min(1).max(200).optional(),
      samplerSeed: z.number().int().min(0).max(2 ** 31).optional(),
      cpu: z.boolean().default(false),
    })
    .strict(),
  /** Writes a dataset in its task's layout plus a dataset card into a folder on the engine's machine. */
  'datasets.export': z
    .object({ id: z.number().int().positive(), format: z.enum(exportFormats).default('auto'), out: z.string().min(1).max(4096).optional(), parquet: z.boolean().default(false) })
    .strict(),
  /** Feature matching between two spaces over the same datasets (indexes what is missing) as a job. */
  'compare.run': z
    .object({
      a: z.object({ model: z.string().min(1), sae: z.string().min(1), encode: z.enum(['topk', 'dense-relu']).optional(), layer: z.number().int().min(0).optional() }).strict(),
      b: z.object({ model: z.string().min(1), sae: z.string().min(1), encode: z.enum(['topk', 'dense-relu']).optional(), layer: z.number().int().min(0).optional() }).strict(),
      datasets: z.array(z.string().min(1)).min(1).max(20),
      minSupport: z.number().int().min(2).max(1_000_000).default(5),
      top: z.number().int().min(1).max(100).default(3),
      /** g at or below δ counts as zero (dense-relu spaces, where nearly every feature is positive). */
      threshold: z.number().min(0).default(0),
      template: z.boolean().default(true),
      /** llama.cpp and onnxruntime threads when indexing. */
      threads: z.number().int().min(1).max(1024).optional(),
      cpu: z.boolean().default(false),
    })
    .strict(),
  'compare.runs': z.object({ limit: z.number().int().min(1).max(200).default(20) }).strict(),
  'compare.get': z.object({ id: z.number().int().positive() }).strict(),
  /** A matched pair token by token on one sample (both models run), aligned through character offsets. */
  'compare.tokens': z.object({ runId: z.number().int().positive(), a: z.number().int().min(0), b: z.number().int().min(0), datasetId: z.number().int().positive().optional(), ordinal: z.number().int().min(0).optional() }).strict(),
  /** Missing features of a coverage run in space A mapped to their partners in space B. */
  'compare.transfer': z.object({ runId: z.number().int().positive(), coverageRunId: z.number().int().positive(), minCorrelation: z.number().min(-1).max(1).default(0.5) }).strict(),
  'jobs.list': z.object({ limit: z.number().int().min(1).max(1000).optional() }).strict(),
  'jobs.get': z.object({ id: z.string().min(1) }).strict(),
  'jobs.cancel': z.object({ id: z.string().min(1) }).strict(),
  'jobs.resume': z.object({ id: z.string().min(1) }).strict(),
  /** Dismisses one finished job, or without an id every finished job; returns the jobs dismissed. */
  'jobs.dismiss': z.object({ id: z.string().min(1).optional() }).strict(),
  /** The residual stream after block `layer` for every token of an input file or text, into an .npy / .safetensors file (+ JSON sidecar), as a job. */
  /** An SAE's fit on a model's residual stream over a dataset (L0, normalised MSE, FVU, dead / always-on features, warnings), as a job. */
  'saes.check': z
    .object({
      sae: z.string().min(1),
      model: z.string().min(1),
      dataset: z.string().min(1),
      layer: z.number().int().min(0).optional(),
      maxTokens: z.number().int().min(1).optional(),
      maxSampleTokens: z.number().int().min(1).optional(),
      template: z.boolean().optional(),
      threads: z.number().int().min(1).optional(),
      cpuModel: z.boolean().optional(),
    })
    .strict(),
  /** Activations `[N, d_in]` (.npy or a .safetensors tensor) to SAE codes (dense .npy and/or sparse .jsonl), as a job. */
  'saes.encode': z
    .object({
      sae: z.string().min(1),
      input: z.string().min(1),
      tensor: z.string().min(1).optional(),
      out: z.string().min(1).optional(),
      sparse: z.string().min(1).optional(),
      denseRelu: z.boolean().optional(),
      batch: z.number().int().min(1).optional(),
      threads: z.number().int().min(1).optional(),
      provider: z.enum(['auto', 'cpu', 'cuda']).optional(),
    })
    .strict(),
  /** SAE codes (dense .npy or sparse .jsonl) to reconstructions `[N, d_in]` (.npy), as a job. */
  'saes.decode': z
    .object({
      sae: z.string().min(1),
      input: z.string().min(1),
      out: z.string().min(1),
      batch: z.number().int().min(1).optional(),
      threads: z.number().int().min(1).optional(),
      provider: z.enum(['auto', 'cpu', 'cuda']).optional(),
    })
    .strict(),
  /** llama.cpp's quantizer writes a quantized copy of a model (optionally registered), as a job. */
  'models.quantize': z.object({ model: z.string().min(1), type: z.string().min(1).max(32), out: z.string().min(1), threads: z.number().int().min(1).optional(), name: z.string().min(1).max(200).optional() }).strict(),
  'activations.capture': z
    .object({
      model: z.string().min(1),
      layer: z.number().int().min(0),
      input: z.string().min(1).optional(),
      text: z.string().min(1).optional(),
      out: z.string().min(1),
      format: z.enum(['npy', 'safetensors']).default('npy'),
      pool: z.enum(['none', 'max', 'mean', 'last']).default('none'),
      template: z.boolean().default(true),
      templateEngine: z.enum(['auto', 'jinja', 'builtin']).default('auto'),
      kv: z.enum(['f16', 'f32']).default('f16'),
      maxTokens: z.number().int().min(1).default(512),
      contextSize: z.number().int().min(1).optional(),
      /** No upper bound here: the probe refuses too many threads with THREADS_OUT_OF_RANGE (4 × logical cores). */
      threads: z.number().int().min(1).optional(),
      cpu: z.boolean().default(false),
    })
    .strict(),
} as const;

export interface SystemInfo {
  version: string;
  home: string;
  /** 'electron' | 'serve' | 'cli' */
  shell: string;
  /** Whether file paths on the engine's machine can be picked (desktop) or files must be uploaded (browser). */
  canPickFiles: boolean;
}

export interface MethodResults {
  'system.info': SystemInfo;
  'datasets.list': DatasetSummary[];
  'datasets.get': DatasetSummary;
  'datasets.samples': { total: number; offset: number; samples: SampleRow[] };
  'datasets.import': JobSnapshot;
  'datasets.remove': { removed: boolean };
  'datasets.setRole': DatasetSummary;
  'datasets.search': { total: number; offset: number; samples: SampleRow[] };
  'models.list': ModelSummary[];
  'models.add': JobSnapshot;
  'models.remove': { removed: string };
  'files.complete': PathCompletion;
  'models.estimate': ModelLoadEstimate;
  'models.pull': JobSnapshot;
  'saes.import': SaeSummary;
  'saes.remove': { removed: string };
  'jobs.metrics': JobMetricPoint[];
  'saes.list': SaeSummary[];
  'saes.train': JobSnapshot;
  'features.spaces': FeatureSpaceView[];
  'features.table': FeatureTablePage;
  'features.detail': FeatureDetail;
  'features.context': FeatureSpanContexts;
  'features.explain': JobSnapshot;
  'features.judge': JobSnapshot;
  'features.interpretations': { explanations: FeatureExplanationView[]; verdicts: FeatureVerdictView[]; tasks: string[] };
  'features.interpretation': { explanations: FeatureExplanationView[]; verdicts: FeatureVerdictView[] };
  'features.verdicts': FeatureVerdictView[];
  'features.search': (FeatureExplanationView & { spaceId: number })[];
  'coverage.run': JobSnapshot;
  'evaluate.report': JobSnapshot;
  'evaluate.probe': JobSnapshot;
  'evaluate.steerVector': JobSnapshot;
  'evaluate.steerEval': JobSnapshot;
  'evaluate.drift': JobSnapshot;
  'coverage.runs': CoverageRunDetail[];
  'coverage.get': CoverageRunDetail;
  'coverage.check': CoverageCheck;
  'coverage.missing': CoverageMissingPage;
  'coverage.scatter': CoverageScatter;
  'coverage.compare': CoverageComparison;
  'coverage.export': CoverageExport;
  'coverage.delete': { id: number };
  'synthesis.run': JobSnapshot;
  'synthesis.runs': SynthesisRunView[];
  'synthesis.candidates': SynthesisCandidateView[];
  'synthesis.editSample': { sampleId: number; activation: number };
  'synthesis.dropSample': { removed: boolean };
  'synthesis.plain': JobSnapshot;
  'datasets.export': DatasetExportView;
  'compare.run': JobSnapshot;
  'compare.runs': Omit<CompareRunView, 'pairs'>[];
  'compare.get': CompareRunView;
  'compare.transfer': TransferResult;
  'compare.tokens': PairTokenView;
  'jobs.list': JobSnapshot[];
  'jobs.get': JobSnapshot;
  'jobs.cancel': JobSnapshot;
  'jobs.resume': JobSnapshot;
  'jobs.dismiss': JobSnapshot[];
  'activations.capture': JobSnapshot;
  'models.quantize': JobSnapshot;
  'saes.check': JobSnapshot;
  'saes.encode': JobSnapshot;
  'saes.decode': JobSnapshot;
}

export type MethodName = keyof typeof methodSchemas;
/** What a caller passes (defaults may be omitted). */
export type MethodParams<M extends MethodName> = z.input<(typeof methodSchemas)[M]>;
/** What a handler receives after validation (defaults filled in). */
export type ValidatedParams<M extends MethodName> = z.output<(typeof methodSchemas)[M]>;
export type MethodResult<M extends MethodName> = MethodResults[M];

/** Events the engine pushes to every connected shell. */
export interface EventPayloads {
  'job.updated': JobSnapshot;
  'datasets.changed': Record<string, never>;
  /** The model or SAE registry changed. */
  'models.changed': Record<string, never>;
  /** A feature index or coverage run finished: feature spaces and runs may have changed. */
  'features.changed': Record<string, never>;
}
export type EventName = keyof EventPayloads;

// Every method has a result type and vice versa.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const contractComplete: Same<MethodName, keyof MethodResults> = true;
void contractComplete;
