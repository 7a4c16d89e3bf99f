import { z } from 'zod';
import { datasetFormats, datasetRoles, type DatasetSummary, type SampleRow } from '../datasetTypes.ts';
import type { JobSnapshot } from '../jobTypes.ts';
import type { CoverageRunView, FeatureDetail, FeatureSpaceView, FeatureTablePage } from '../featureTypes.ts';
import type { ModelSummary, SaeSummary } from '../registryTypes.ts';

/**
 * The one API contract between Facet's engine and every shell (CLI in-process, Electron over a
 * MessagePort, browsers over a WebSocket). Each method is defined once: its parameter schema
 * (validated at the engine boundary) and its result type.
 */
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
  'models.list': z.object({}).strict(),
  'models.add': z.object({ path: z.string().min(1), name: z.string().min(1).max(200).optional() }).strict(),
  'models.remove': z.object({ name: z.string().min(1) }).strict(),
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
    })
    .strict(),
  'features.detail': z.object({ spaceId: z.number().int().positive(), feature: z.number().int().min(0), spans: z.number().int().min(1).max(50).default(10) }).strict(),
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
    })
    .strict(),
  'coverage.runs': z.object({ limit: z.number().int().min(1).max(200).default(20) }).strict(),
  'coverage.get': z.object({ id: z.number().int().positive() }).strict(),
  'jobs.list': z.object({ limit: z.number().int().min(1).max(1000).optional() }).strict(),
  'jobs.get': z.object({ id: z.string().min(1) }).strict(),
  'jobs.cancel': z.object({ id: z.string().min(1) }).strict(),
  'jobs.resume': z.object({ id: z.string().min(1) }).strict(),
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
  'models.list': ModelSummary[];
  'models.add': JobSnapshot;
  'models.remove': { removed: string };
  'saes.list': SaeSummary[];
  'saes.train': JobSnapshot;
  'features.spaces': FeatureSpaceView[];
  'features.table': FeatureTablePage;
  'features.detail': FeatureDetail;
  'coverage.run': JobSnapshot;
  'coverage.runs': CoverageRunView[];
  'coverage.get': CoverageRunView;
  'jobs.list': JobSnapshot[];
  'jobs.get': JobSnapshot;
  'jobs.cancel': JobSnapshot;
  'jobs.resume': JobSnapshot;
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
