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
  /** Records what the open page shows without a new history entry (e.g. naming the run a page picked by default). */
  replaceParams(params: Record<string, string>): void;
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

/** The scrolling pane of the window (the page area beside the sidebar). */
function contentPane(): HTMLElement | null {
  return document.querySelector('main.content');
}

/** Scrolls the pane to `top` once the page has drawn enough to hold it (data may still be loading). */
function scrollPaneTo(top: number): void {
  let tries = 0;
  const attempt = (): void => {
    const pane = contentPane();
    if (pane === null) return;
    pane.scrollTop = top;
    if (Math.abs(pane.scrollTop - top) > 1 && ++tries < 20) setTimeout(attempt, 100);
  };
  requestAnimationFrame(attempt);
}

// Each history entry remembers how far its page was scrolled, so Back returns to the same place.
let saveTimer: ReturnType<typeof setTimeout> | undefined;
document.addEventListener(
  'scroll',
  (event) => {
    if (event.target !== contentPane()) return;
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      const pane = contentPane();
      if (pane !== null) history.replaceState({ ...(history.state as object | null), scroll: pane.scrollTop }, '');
    }, 120);
  },
  true,
);

function replace(page: PageName, params: Record<string, string>): void {
  const hash = hashOf(page, params);
  // the entry's state (e.g. its scroll position) stays
  if (location.hash !== hash) history.replaceState(history.state, '', `${location.pathname}${location.search}${hash}`);
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
    const changed = page !== get().page;
    push(page, next);
    set({ page, params: next });
    // another page starts at its top, with keyboard focus on it (not left in the sidebar or palette)
    if (changed) {
      scrollPaneTo(0);
      requestAnimationFrame(() => contentPane()?.focus({ preventScroll: true }));
    }
  },
  setParams(params) {
    push(get().page, params);
    set({ params });
  },
  replaceParams(params) {
    replace(get().page, params);
    set({ params });
  },
}));

window.addEventListener('popstate', (event) => {
  useNavigationStore.setState(fromHash());
  scrollPaneTo(typeof (event.state as { scroll?: unknown } | null)?.scroll === 'number' ? (event.state as { scroll: number }).scroll : 0);
});
