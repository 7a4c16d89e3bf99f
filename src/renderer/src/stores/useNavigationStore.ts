import { create } from 'zustand';

export const pages = ['Models', 'Datasets', 'Features', 'Coverage', 'Synthesis', 'Compare', 'Evaluate', 'Jobs'] as const;
export type PageName = (typeof pages)[number];

interface NavigationState {
  page: PageName;
  go(page: PageName): void;
}

function pageFromHash(): PageName {
  const name = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  return (pages as readonly string[]).includes(name) ? (name as PageName) : 'Datasets';
}

/** Which page is open; kept in the URL hash so a reload stays put. */
export const useNavigationStore = create<NavigationState>((set) => ({
  page: pageFromHash(),
  go(page) {
    history.replaceState(null, '', `${location.pathname}${location.search}#/${page}`);
    set({ page });
  },
}));
