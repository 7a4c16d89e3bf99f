import { create } from 'zustand';
import type { ModelSummary, SaeSummary } from '../../../shared/registryTypes.ts';
import { api } from '../api/connection.ts';

interface RegistryState {
  models: ModelSummary[];
  saes: SaeSummary[];
  load(): Promise<void>;
}

/** Mirror of the registered models and SAEs; reloaded when the engine reports a change. */
export const useRegistryStore = create<RegistryState>((set) => ({
  models: [],
  saes: [],
  async load() {
    const [models, saes] = await Promise.all([api.call('models.list', {}), api.call('saes.list', {})]);
    set({ models, saes });
  },
}));

api.on('models.changed', () => void useRegistryStore.getState().load());
