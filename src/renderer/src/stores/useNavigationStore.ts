import { create } from 'zustand';

export const pages = ['Models', 'Datasets', 'Features', 'Coverage', 'Synthesis', 'Compare', 'Evaluate', 'Jobs'] as const;
export type PageName = (typeof pages)[number];

interface NavigationState {
  page: PageName;
  /** What the page shows, e.g. { space: '1', feature: '42' } on Features. */
  params: Record<string, string>;
  /** Opens a page (a new history entry, so Back returns here). */
  go(page: PageName, params?: Record<string, string>): void;
  /** Records what the open page shows (a new history entry when it changed). */
  setParams(params: Record<string, string>): void;
}

function fromHash(): { page: PageName; params: Record<string, string> } {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const name = decodeURIComponent(path);
  const page = (pages as readonly string[]).includes(name) ? (name as PageName) : 'Datasets';
  return { page, params: Object.fromEntries(new URLSearchParams(query)) };
}

function hashOf(page: PageName, params: Record<string, string>): string {
  const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value !== '')).toString();
  return `#/${page}${query === '' ? '' : `?${query}`}`;
}

function push(page: PageName, params: Record<string, string>): void {
  const hash = hashOf(page, params);
  // the page's own query (the serve token) stays; only the hash changes
  if (location.hash !== hash) history.pushState(null, '', `${location.pathname}${location.search}${hash}`);
}

/**
 * Which page is open and what it shows, kept in the URL hash (`#/Features?space=1&feature=42`):
 * a reload stays put, links can be shared within the same server run, and Back/Forward move
 * between pages and features.
 */
export const useNavigationStore = create<NavigationState>((set, get) => ({
  ...fromHash(),
  go(page, params) {
    // going to the page already open without saying what to show keeps what it shows
    const next = params ?? (page === get().page ? get().params : {});
    push(page, next);
    set({ page, params: next });
  },
  setParams(params) {
    push(get().page, params);
    set({ params });
  },
}));

window.addEventListener('popstate', () => useNavigationStore.setState(fromHash()));
