import { create } from 'zustand';
import type { JobSnapshot } from '../../../shared/jobTypes.ts';
import { api } from '../api/connection.ts';

interface JobsState {
  jobs: Record<string, JobSnapshot>;
  loaded: boolean;
  load(): Promise<void>;
  apply(job: JobSnapshot): void;
  cancel(id: string): Promise<void>;
  /** Continues an interrupted or crash-failed job, or runs a cancelled or failed one again. */
  resume(id: string): Promise<void>;
  /** Hides a finished job in every shell of the workspace (persisted). */
  dismiss(id: string): Promise<void>;
  /** Dismisses every finished job. */
  dismissFinished(): Promise<void>;
}

/**
 * Mirror of the engine's jobs, whichever process runs them (a CLI in the same workspace too):
 * a snapshot on load, then pushed `job.updated` events.
 */
export const useJobsStore = create<JobsState>((set, get) => ({
  jobs: {},
  loaded: false,
  async load() {
    const list = await api.call('jobs.list', {});
    set({ jobs: Object.fromEntries(list.map((job) => [job.id, job])), loaded: true });
  },
  apply(job) {
    set((state) => ({ jobs: { ...state.jobs, [job.id]: job } }));
  },
  async cancel(id) {
    get().apply(await api.call('jobs.cancel', { id }));
  },
  async resume(id) {
    get().apply(await api.call('jobs.resume', { id }));
  },
  async dismiss(id) {
    for (const job of await api.call('jobs.dismiss', { id })) get().apply(job);
  },
  async dismissFinished() {
    for (const job of await api.call('jobs.dismiss', {})) get().apply(job);
  },
}));

api.on('job.updated', (job) => useJobsStore.getState().apply(job));
