import { create } from 'zustand';
import type { CompareRunView } from '../../../shared/compareTypes.ts';
import { api } from '../api/connection.ts';

type RunSummary = Omit<CompareRunView, 'pairs'>;

interface CompareState {
  runs: RunSummary[];
  /** The run shown on the Compare page; null = the newest. */
  selectedRunId: number | null;
  /** Full runs (with pairs), fetched when shown. */
  details: Record<number, CompareRunView>;
  load(): Promise<void>;
  select(runId: number | null): void;
  loadDetail(runId: number): Promise<void>;
}

/** Mirror of comparison runs; reloaded when a comparison job finishes. */
export const useCompareStore = create<CompareState>((set, get) => ({
  runs: [],
  selectedRunId: null,
  details: {},
  async load() {
    const runs = await api.call('compare.runs', {});
    set({ runs });
    const shown = get().selectedRunId ?? runs[0]?.runId;
    if (shown !== undefined) await get().loadDetail(shown);
  },
  select(runId) {
    set({ selectedRunId: runId });
    if (runId !== null) void get().loadDetail(runId);
  },
  async loadDetail(runId) {
    if (get().details[runId] !== undefined) return;
    const detail = await api.call('compare.get', { id: runId });
    set((state) => ({ details: { ...state.details, [runId]: detail } }));
  },
}));

api.on('job.updated', (job) => {
  if (job.kind === 'compare.run' && job.state === 'done') void useCompareStore.getState().load();
});
