import { create } from 'zustand';
import type { CoverageRunView, FeatureSpaceView } from '../../../shared/featureTypes.ts';
import { api } from '../api/connection.ts';

interface FeaturesState {
  spaces: FeatureSpaceView[];
  runs: CoverageRunView[];
  /** The feature space and feature open on the Features page (set from Coverage links too). */
  spaceId: number | null;
  feature: number | null;
  load(): Promise<void>;
  open(spaceId: number, feature: number | null): void;
}

/** Mirror of feature spaces and coverage runs; reloaded when an index or coverage job finishes. */
export const useFeaturesStore = create<FeaturesState>((set, get) => ({
  spaces: [],
  runs: [],
  spaceId: null,
  feature: null,
  async load() {
    const [spaces, runs] = await Promise.all([api.call('features.spaces', {}), api.call('coverage.runs', {})]);
    const current = get().spaceId;
    set({ spaces, runs, spaceId: current !== null && spaces.some((space) => space.id === current) ? current : (spaces[0]?.id ?? null) });
  },
  open(spaceId, feature) {
    set({ spaceId, feature });
  },
}));

api.on('features.changed', () => void useFeaturesStore.getState().load());
