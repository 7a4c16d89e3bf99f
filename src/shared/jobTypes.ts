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
  createdAt: string;
  updatedAt: string;
}

export function isFinished(state: JobState): boolean {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}
