import { create } from 'zustand';
import type { JobSnapshot } from '../../../shared/jobTypes.ts';
import { api } from '../api/connection.ts';

interface JobsState {
  jobs: Record<string, JobSnapshot>;
  loaded: boolean;
  load(): Promise<void>;
  apply(job: JobSnapshot): void;
  cancel(id: string): Promise<void>;
}

/** Mirror of the engine's jobs: a snapshot on load, then pushed `job.updated` events. */
export const useJobsStore = create<JobsState>((set) => ({
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
    const job = await api.call('jobs.cancel', { id });
    set((state) => ({ jobs: { ...state.jobs, [job.id]: job } }));
  },
}));

api.on('job.updated', (job) => useJobsStore.getState().apply(job));
