import { useEffect, useState, type ReactElement } from 'react';
import type { ConnectionStatus } from './api/connectApi.ts';
import { connection } from './api/connection.ts';
import { CommandPalette } from './components/CommandPalette.tsx';
import { ComparePage } from './pages/ComparePage.tsx';
import { CoveragePage } from './pages/CoveragePage.tsx';
import { DatasetsPage } from './pages/DatasetsPage.tsx';
import { EvaluatePage } from './pages/EvaluatePage.tsx';
import { FeaturesPage } from './pages/FeaturesPage.tsx';
import { JobsPage } from './pages/JobsPage.tsx';
import { ModelsPage } from './pages/ModelsPage.tsx';
import { SynthesisPage } from './pages/SynthesisPage.tsx';
import { useDatasetsStore } from './stores/useDatasetsStore.ts';
import { useFeaturesStore } from './stores/useFeaturesStore.ts';
import { useJobsStore } from './stores/useJobsStore.ts';
import { useRegistryStore } from './stores/useRegistryStore.ts';
import { pages, useNavigationStore, type PageName } from './stores/useNavigationStore.ts';

/** Every page of the workbench by name (the record type makes a page without a view a type error). */
const pageViews: Record<PageName, () => ReactElement> = {
  Models: ModelsPage,
  Datasets: DatasetsPage,
  Features: FeaturesPage,
  Coverage: CoveragePage,
  Synthesis: SynthesisPage,
  Compare: ComparePage,
  Evaluate: EvaluatePage,
  Jobs: JobsPage,
};

function PageView({ page }: { page: PageName }) {
  const View = pageViews[page];
  return <View />;
}

export function App() {
  const { page, go } = useNavigationStore();
  const [status, setStatus] = useState<'connecting' | ConnectionStatus>('connecting');
  const [error, setError] = useState<string | null>(null);
  const running = Object.values(useJobsStore((state) => state.jobs)).filter((job) => job.state === 'running' || job.state === 'queued').length;

  // the tab and the history entries say where they lead
  useEffect(() => {
    document.title = `${page} · Facet`;
  }, [page]);

  useEffect(() => {
    connection.onStatus((next) => {
      setStatus(next);
      // (Re)load the snapshot whenever the connection opens; events keep it current after that.
      if (next === 'open') {
        Promise.all([useJobsStore.getState().load(), useDatasetsStore.getState().load(), useRegistryStore.getState().load(), useFeaturesStore.getState().load()]).then(
          () => setError(null),
          (caught: Error) => setError(caught.message),
        );
      }
    });
  }, []);

  return (
    <div className="app">
      <nav className="sidebar">
        <button type="button" className="skip-link" onClick={() => document.querySelector<HTMLElement>('main.content')?.focus()}>
          Skip to the page
        </button>
        <div className="brand">Facet</div>
        {pages.map((name, i) => (
          <button key={name} type="button" className={name === page ? 'nav active' : 'nav'} onClick={() => go(name)} data-testid={`nav-${name}`} title={`${name} (Alt+${i + 1})`} aria-current={name === page ? 'page' : undefined}>
            {name}
            {name === 'Jobs' && running > 0 ? <span className="badge">{running}</span> : null}
          </button>
        ))}
        <div className="palette-hint">
          <kbd>Ctrl</kbd> <kbd>K</kbd> commands
        </div>
        <div className={`status status-${status}`} data-testid="connection-status">
          {status === 'open' ? 'engine connected' : status === 'closed' ? 'engine disconnected, retrying…' : status === 'refused' || status === 'no-token' ? 'no connection' : 'connecting…'}
        </div>
      </nav>
      <main className="content" tabIndex={-1}>
        {status === 'no-token' ? (
          <div className="error" data-testid="connection-no-token">
            This address has no access token, so it cannot reach the Facet engine. Open the address that facet serve printed (it ends in ?token=…); links copied from that page keep it.
          </div>
        ) : null}
        {status === 'refused' ? (
          <div className="error" data-testid="connection-refused">
            Cannot reach the Facet engine. If facet serve was restarted, this page's token is from an earlier run: open the URL it printed.
          </div>
        ) : null}
        {error !== null ? <div className="error">{error}</div> : null}
        <PageView page={page} />
      </main>
      <CommandPalette />
    </div>
  );
}
