import type { WireError } from './FacetError.ts';

export const jobStates = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type JobState = (typeof jobStates)[number];

export interface JobSnapshot {
  id: string;
  kind: string;
  title: string;
  state: JobState;
  done: number;
  total: number | null;
  /** Units per second over the current run; null until measurable. */
  rate: number | null;
  /** Seconds left at the current rate; null when unknown. */
  etaSeconds: number | null;
  result: unknown;
  error: WireError | null;
  /** Queued or running in a process that has died (killed, crashed): resume it to continue. */
  interrupted: boolean;
  /** Cancel was asked for and the job has not stopped yet (it stops at its next check). */
  cancelRequested: boolean;
  /** When the job was dismissed from the Jobs page and `facet jobs list`, else null. */
  dismissedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export function isFinished(state: JobState): boolean {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}

/** Queued or running in a live process. */
export function isActive(job: JobSnapshot): boolean {
  return !isFinished(job.state) && !job.interrupted;
}

/** Queued or running, cancel asked for, not stopped yet. */
export function isCancelling(job: JobSnapshot): boolean {
  return isActive(job) && job.cancelRequested;
}

/** The one-word status a person reads: cancelling, interrupted, or the state. */
export function jobStatus(job: JobSnapshot): JobState | 'cancelling' | 'interrupted' {
  if (job.interrupted) return 'interrupted';
  if (isCancelling(job)) return 'cancelling';
  return job.state;
}

/** Failure codes of jobs whose process died: retrying them continues from their last checkpoint. */
export const crashFailureCodes: readonly string[] = ['JOB_CRASHED', 'MODEL_PROCESS_CRASHED'];

/**
 * What `jobs.resume` does with a job: `resume` continues an interrupted job (or one failed by
 * a crash) from its checkpoint; `restart` runs a cancelled or failed job again with the same
 * parameters (kinds that keep their own checkpoints, such as SAE training and feature indexing,
 * pick up from them); null when the job cannot be resumed (done, or still active).
 */
export function resumeKind(job: JobSnapshot): 'resume' | 'restart' | null {
  if (job.interrupted) return 'resume';
  if (job.state === 'failed') return crashFailureCodes.includes(job.error?.code ?? '') ? 'resume' : 'restart';
  if (job.state === 'cancelled') return 'restart';
  return null;
}

/** A page of the UI and what it should show (the hash URL `#/<page>?<params>`). */
export interface JobResultLink {
  page: 'Models' | 'Datasets' | 'Features' | 'Coverage' | 'Synthesis' | 'Compare' | 'Evaluate';
  params: Record<string, string>;
  /** What the link opens, e.g. "dataset demo-anchor". */
  label: string;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function text(value: unknown): string | null {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
}

/** Where a finished job's result is shown, by its kind; null when it produced nothing to open. */
export function jobResultLink(job: JobSnapshot): JobResultLink | null {
  if (job.state !== 'done') return null;
  const result = job.result;
  switch (job.kind) {
    case 'dataset.import': {
      const id = text(field(result, 'id'));
      return id === null ? null : { page: 'Datasets', params: { dataset: id }, label: `dataset ${text(field(result, 'name')) ?? id}` };
    }
    case 'model.add':
    case 'model.pull': {
      const name = text(field(result, 'name'));
      return name === null ? null : { page: 'Models', params: { model: name }, label: `model ${name}` };
    }
    case 'model.quantize': {
      const name = text(field(result, 'registered'));
      return name === null ? null : { page: 'Models', params: { model: name }, label: `model ${name}` };
    }
    case 'sae.train': {
      const name = text(field(field(result, 'sae'), 'name'));
      return name === null ? null : { page: 'Models', params: { sae: name }, label: `SAE ${name}` };
    }
    case 'coverage.measure': {
      const run = text(field(result, 'runId'));
      return run === null ? null : { page: 'Coverage', params: { run }, label: `coverage run ${run}` };
    }
    case 'synthesis.run': {
      const run = text(field(result, 'runId'));
      return run === null ? null : { page: 'Synthesis', params: { run }, label: `synthesis run ${run}` };
    }
    case 'synthesis.plain': {
      const id = text(field(result, 'datasetId'));
      return id === null ? null : { page: 'Datasets', params: { dataset: id }, label: `dataset ${text(field(result, 'dataset')) ?? id}` };
    }
    case 'compare.run': {
      const run = text(field(result, 'runId'));
      return run === null ? null : { page: 'Compare', params: { run }, label: `comparison ${run}` };
    }
    case 'features.index':
    case 'features.explain':
    case 'features.judge': {
      const space = text(field(result, 'spaceId'));
      return space === null ? null : { page: 'Features', params: { space }, label: `feature space ${space}` };
    }
    default:
      return job.kind.startsWith('evaluate.') ? { page: 'Evaluate', params: {}, label: 'evaluation' } : null;
  }
}

/** How long the job has run (active) or ran (finished): from its start to now or to its last update. */
export function jobDurationMs(job: JobSnapshot, now: number): number {
  return Math.max(0, (isActive(job) ? now : Date.parse(job.updatedAt)) - Date.parse(job.createdAt));
}

/** What a job's progress counts, by kind (for "4,096 / 12,288 tokens", "264 tokens/s"). */
export function jobUnit(kind: string): string {
  switch (kind) {
    case 'dataset.import':
      return 'records';
    case 'sae.train':
      return 'tokens';
    case 'model.add':
    case 'model.pull':
      return 'bytes';
    case 'features.index':
    case 'coverage.measure':
    case 'synthesis.plain':
      return 'samples';
    case 'features.explain':
    case 'features.judge':
    case 'synthesis.run':
      return 'features';
    default:
      return 'steps';
  }
}
