import { create } from 'zustand';
import type { DatasetSummary } from '../../../shared/datasetTypes.ts';
import { api } from '../api/connection.ts';

interface DatasetsState {
  datasets: DatasetSummary[];
  loaded: boolean;
  selectedId: number | null;
  load(): Promise<void>;
  select(id: number | null): void;
  remove(id: number): Promise<void>;
}

/** Mirror of the engine's datasets: reloaded whenever the engine says they changed. */
export const useDatasetsStore = create<DatasetsState>((set, get) => ({
  datasets: [],
  loaded: false,
  selectedId: null,
  async load() {
    const datasets = await api.call('datasets.list', {});
    const selectedId = get().selectedId;
    set({ datasets, loaded: true, selectedId: datasets.some((d) => d.id === selectedId) ? selectedId : null });
  },
  select(id) {
    set({ selectedId: id });
  },
  async remove(id) {
    await api.call('datasets.remove', { id });
  },
}));

api.on('datasets.changed', () => void useDatasetsStore.getState().load());
