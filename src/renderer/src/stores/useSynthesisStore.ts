import { create } from 'zustand';
import type { SynthesisCandidateView, SynthesisRunView } from '../../../shared/synthesisTypes.ts';
import { api } from '../api/connection.ts';

interface SynthesisState {
  runs: SynthesisRunView[];
  /** The run shown on the Synthesis page; null = the newest. */
  selectedRunId: number | null;
  /** Candidates per run, oldest first, fetched incrementally (by the last id held). */
  candidates: Record<number, SynthesisCandidateView[]>;
  load(): Promise<void>;
  select(runId: number | null): void;
  loadCandidates(runId: number, fresh?: boolean): Promise<void>;
}

/** Mirror of synthesis runs and their candidates; refreshed as synthesis jobs report progress. */
export const useSynthesisStore = create<SynthesisState>((set, get) => ({
  runs: [],
  selectedRunId: null,
  candidates: {},
  async load() {
    const runs = await api.call('synthesis.runs', {});
    set({ runs });
    const shown = get().selectedRunId ?? runs[0]?.id;
    if (shown !== undefined) await get().loadCandidates(shown);
  },
  select(runId) {
    set({ selectedRunId: runId });
    if (runId !== null) void get().loadCandidates(runId, true);
  },
  async loadCandidates(runId, fresh = false) {
    const held = fresh ? [] : (get().candidates[runId] ?? []);
    const afterId = held.length > 0 ? held[held.length - 1]!.id : 0;
    const more = await api.call('synthesis.candidates', { runId, afterId });
    set((state) => ({ candidates: { ...state.candidates, [runId]: [...held, ...more] } }));
  },
}));

// A synthesis job stores each feature's candidates with its progress: follow them as they land.
api.on('job.updated', (job) => {
  if (job.kind === 'synthesis.run') void useSynthesisStore.getState().load();
});
// Edits and drops change samples and candidates' outcomes: read the shown run again.
api.on('datasets.changed', () => {
  const state = useSynthesisStore.getState();
  const shown = state.selectedRunId ?? state.runs[0]?.id;
  void state.load().then(() => (shown !== undefined ? state.loadCandidates(shown, true) : undefined));
});
