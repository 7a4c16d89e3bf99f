import { create } from 'zustand';
import type { CoverageRunView, FeatureSpaceView } from '../../../shared/featureTypes.ts';
import { api } from '../api/connection.ts';
import { useNavigationStore } from './useNavigationStore.ts';

/** The space and feature the URL names on the Features page, if any. */
function fromUrl(): { spaceId: number | null; feature: number | null } {
  const { page, params } = useNavigationStore.getState();
  if (page !== 'Features') return { spaceId: null, feature: null };
  const space = Number(params['space']);
  const feature = Number(params['feature']);
  return { spaceId: Number.isInteger(space) && space > 0 ? space : null, feature: params['feature'] !== undefined && Number.isInteger(feature) && feature >= 0 ? feature : null };
}

/** URL parameters of the Features table that name datasets of one space (dropped when the space changes). */
const datasetParams = ['dataset', 'activeIn', 'absentIn'];

interface FeaturesState {
  spaces: FeatureSpaceView[];
  runs: CoverageRunView[];
  /** The feature space and feature open on the Features page (set from Coverage links too). */
  spaceId: number | null;
  feature: number | null;
  load(): Promise<void>;
  /** Opens a feature (or just a space): on the Features page the table's filters and sort stay. */
  open(spaceId: number, feature: number | null): void;
}

/** Mirror of feature spaces and coverage runs; reloaded when an index or coverage job finishes. */
export const useFeaturesStore = create<FeaturesState>((set, get) => ({
  spaces: [],
  runs: [],
  ...fromUrl(),
  async load() {
    const [spaces, runs] = await Promise.all([api.call('features.spaces', {}), api.call('coverage.runs', {})]);
    const current = get().spaceId;
    set({ spaces, runs, spaceId: current !== null && spaces.some((space) => space.id === current) ? current : (spaces[0]?.id ?? null) });
  },
  open(spaceId, feature) {
    const navigation = useNavigationStore.getState();
    const shown = navigation.params['space'] ?? (get().spaceId !== null ? String(get().spaceId) : undefined);
    const sameSpace = navigation.page === 'Features' && shown === String(spaceId);
    set({ spaceId, feature });
    const kept: Record<string, string> = {};
    if (navigation.page === 'Features') {
      for (const [key, value] of Object.entries(navigation.params)) if (key !== 'space' && key !== 'feature' && (sameSpace || !datasetParams.includes(key))) kept[key] = value;
    }
    const params = { space: String(spaceId), ...(feature !== null ? { feature: String(feature) } : {}), ...kept };
    if (navigation.page === 'Features') navigation.setParams(params);
    else navigation.go('Features', params);
  },
}));

api.on('features.changed', () => void useFeaturesStore.getState().load());

// Back/Forward between features: follow the URL.
useNavigationStore.subscribe((navigation) => {
  if (navigation.page !== 'Features') return;
  const wanted = fromUrl();
  const state = useFeaturesStore.getState();
  if (wanted.spaceId !== null && (wanted.spaceId !== state.spaceId || wanted.feature !== state.feature)) useFeaturesStore.setState(wanted);
});
