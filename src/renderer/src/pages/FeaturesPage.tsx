import { useEffect, useState } from 'react';
import type { FeatureDetail, FeatureSpaceView, FeatureSpanContext, FeatureTablePage } from '../../../shared/featureTypes.ts';
import { formatCount, formatDecimal, formatPercent, plural } from '../../../shared/formatNumber.ts';
import type { FeatureExplanationView, FeatureVerdictView, RelevanceVerdict } from '../../../shared/interpretationTypes.ts';
import { api } from '../api/connection.ts';
import { usePersistentState } from '../hooks/usePersistentState.ts';
import { FeatureHistogram } from '../components/FeatureHistogram.tsx';
import { FeatureInterpretation } from '../components/FeatureInterpretation.tsx';
import { contextKey, FeatureSpans } from '../components/FeatureSpans.tsx';
import { InterpretPanel } from '../components/InterpretPanel.tsx';
import { useFeaturesStore } from '../stores/useFeaturesStore.ts';
import { useNavigationStore } from '../stores/useNavigationStore.ts';

type SortKey = 'feature' | 'count' | 'mean' | 'max';
const sortKeys: readonly SortKey[] = ['feature', 'count', 'mean', 'max'];

/** A positive integer URL parameter, or undefined. */
function idParam(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
}

function datasetLabel(dataset: { name: string | null; datasetId: number; role?: string | null }): string {
  return `${dataset.name ?? `dataset ${dataset.datasetId}`}${dataset.role ? ` (${dataset.role})` : ''}`;
}

/** One <option> per indexed dataset, valued by its id (the dataset selectors of the table). */
function datasetOptions(indexes: readonly { datasetId: number; datasetName: string | null; datasetRole?: string | null }[]) {
  return indexes.map((index) => (
    <option key={index.datasetId} value={index.datasetId}>
      {datasetLabel({ name: index.datasetName, datasetId: index.datasetId, role: index.datasetRole ?? null })}
    </option>
  ));
}
type VerdictFilter = 'all' | 'relevant' | RelevanceVerdict | 'unjudged';
const pageSize = 100;

/** The table's feature subset for a search and a verdict filter, as `only` / `exclude` lists. */
function subset(searchHits: number[] | null, verdicts: FeatureVerdictView[] | null, filter: VerdictFilter): { only?: number[]; exclude?: number[] } {
  let only: number[] | undefined = searchHits ?? undefined;
  let exclude: number[] | undefined;
  if (verdicts !== null && filter !== 'all') {
    if (filter === 'unjudged') exclude = verdicts.map((verdict) => verdict.feature);
    else {
      const chosen = verdicts.filter((verdict) => (filter === 'relevant' ? verdict.verdict !== 'No' : verdict.verdict === filter)).map((verdict) => verdict.feature);
      only = only === undefined ? chosen : only.filter((feature) => chosen.includes(feature));
    }
  }
  return { ...(only !== undefined ? { only } : {}), ...(exclude !== undefined ? { exclude } : {}) };
}

export function spaceLabel(space: FeatureSpaceView): string {
  return `${space.modelName} · ${space.saeName ?? `SAE ${space.id}`} · l_out-${space.layer} · ${space.encodeMode}${space.template ? '' : ' · no template'}`;
}

/** Sortable feature table of one feature space, with a feature's histogram and top spans. */
export function FeaturesPage() {
  const { spaces, runs, spaceId, feature, open } = useFeaturesStore();
  // what the table shows lives in the URL: reload, Back/Forward and shared links keep it
  const params = useNavigationStore((state) => state.params);
  const setParams = useNavigationStore((state) => state.setParams);
  const sort: SortKey = sortKeys.includes(params['sort'] as SortKey) ? (params['sort'] as SortKey) : 'count';
  const descending = params['desc'] === undefined ? sort !== 'feature' : params['desc'] === '1';
  const scope = idParam(params['dataset']);
  const activeIn = idParam(params['activeIn']);
  const absentIn = idParam(params['absentIn']);
  const offset = Math.max(0, Number.parseInt(params['from'] ?? '0', 10) || 0);
  const [contexts, setContexts] = useState<Map<string, FeatureSpanContext>>(new Map());
  const [contextState, setContextState] = useState<string | null>(null);
  const [goto, setGoto] = useState('');
  const [page, setPage] = useState<FeatureTablePage | null>(null);
  const [detail, setDetail] = useState<FeatureDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [explanations, setExplanations] = useState<Map<number, FeatureExplanationView>>(new Map());
  const [pageVerdicts, setPageVerdicts] = useState<FeatureVerdictView[]>([]);
  const [tasks, setTasks] = useState<string[]>([]);
  const [task, setTask] = useState('');
  const [verdictFilter, setVerdictFilter] = useState<VerdictFilter>('all');
  const [taskVerdicts, setTaskVerdicts] = useState<FeatureVerdictView[] | null>(null);
  const [queryText, setQueryText] = useState('');
  const [searchHits, setSearchHits] = useState<number[] | null>(null);
  // the words the shown search hits answer (for the empty state)
  const [searchedFor, setSearchedFor] = useState('');
  // 'Explain and judge features': open while nothing of the space is explained or judged on screen
  // ('auto'), then collapsed unless the user opened or used it (remembered)
  const [interpretShown, setInterpretShown] = usePersistentState<'auto' | 'open' | 'closed'>('features.interpretPanel', 'auto');
  const space = spaces.find((candidate) => candidate.id === spaceId) ?? null;

  useEffect(() => {
    if (spaceId === null || task === '') {
      setTaskVerdicts(null);
      return;
    }
    api.call('features.verdicts', { spaceId, task }).then(setTaskVerdicts, (caught: Error) => setError(caught.message));
  }, [spaceId, task, spaces]);

  useEffect(() => {
    if (spaceId === null) return;
    // a link or an old URL may name a dataset this space has no index of: say which control to change
    const indexed = spaces.find((candidate) => candidate.id === spaceId)?.indexes.filter((index) => index.state === 'ready').map((index) => index.datasetId);
    const stale = indexed === undefined ? [] : ([['Counts over', scope], ['Active in', activeIn], ['absent in', absentIn]] as const).filter(([, id]) => id !== undefined && !indexed.includes(id));
    if (stale.length > 0) {
      setError(stale.map(([control, id]) => `'${control}' names dataset ${id}, which is not indexed in this feature space: pick another there.`).join(' '));
      return;
    }
    const filter = subset(searchHits, taskVerdicts, task === '' ? 'all' : verdictFilter);
    const datasets = { ...(scope !== undefined ? { dataset: scope } : {}), ...(activeIn !== undefined && absentIn !== undefined ? { activeIn, absentIn } : {}) };
    api.call('features.table', { spaceId, sort, descending, offset, limit: pageSize, ...filter, ...datasets }).then(
      (result) => {
        setPage(result);
        setError(null);
      },
      (caught: Error) => setError(caught.message),
    );
  }, [spaceId, sort, descending, offset, spaces, searchHits, taskVerdicts, verdictFilter, task, scope, activeIn, absentIn]);

  /** Changes table parameters in the URL (a history entry), back to the first page. */
  function setTable(changes: Record<string, string | undefined>): void {
    const next: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...params, from: undefined, ...changes })) if (value !== undefined && value !== '') next[key] = value;
    setParams(next);
  }
  const setOffset = (value: number): void => setTable({ from: value > 0 ? String(value) : undefined });

  // Explanations and verdicts of the rows on screen.
  useEffect(() => {
    if (spaceId === null || page === null || page.rows.length === 0) {
      setExplanations(new Map());
      setPageVerdicts([]);
      return;
    }
    api.call('features.interpretations', { spaceId, features: page.rows.map((row) => row.feature) }).then(
      (result) => {
        setExplanations(new Map(result.explanations.map((explanation) => [explanation.feature, explanation])));
        setPageVerdicts(result.verdicts);
        setTasks(result.tasks);
        if (task === '' && result.tasks.length > 0) setTask(result.tasks[0]!);
      },
      (caught: Error) => setError(caught.message),
    );
  }, [spaceId, page, task]);

  async function search(): Promise<void> {
    setOffset(0);
    setError(null);
    const words = queryText.trim();
    if (words === '' || spaceId === null) {
      setSearchHits(null);
      return;
    }
    try {
      const hits = await api.call('features.search', { query: words, spaceId, limit: 500 });
      setSearchedFor(words);
      setSearchHits([...new Set(hits.map((hit) => hit.feature))]);
    } catch (caught) {
      setError((caught as Error).message);
    }
  }

  const verdictOf = (row: number): FeatureVerdictView | undefined => pageVerdicts.find((verdict) => verdict.feature === row && verdict.task === task);

  useEffect(() => {
    if (spaceId === null || feature === null) {
      setDetail(null);
      return;
    }
    api.call('features.detail', { spaceId, feature, ...(scope !== undefined ? { dataset: scope } : {}) }).then(setDetail, (caught: Error) => setError(caught.message));
  }, [spaceId, feature, spaces, scope]);

  // tokens on both sides of each span's peak with the feature's code at each: the engine runs the
  // model and SAE on those samples once (then answers from its cache)
  useEffect(() => {
    setContexts(new Map());
    if (detail === null || spaceId === null || detail.spans.length === 0) {
      setContextState(null);
      return;
    }
    let current = true;
    setContextState('Recomputing the activation of every token around the peaks…');
    api.call('features.context', { spaceId, feature: detail.feature, samples: detail.spans.map((span) => ({ datasetId: span.datasetId, ordinal: span.ordinal })) }).then(
      (result) => {
        if (!current) return;
        setContexts(new Map(result.contexts.map((context) => [contextKey(context.datasetId, context.ordinal), context])));
        setContextState(null);
      },
      (caught: Error) => {
        if (current) setContextState(`Showing the stored text up to the peak only: the token view needs the space's model (${caught.message})`);
      },
    );
    return () => {
      current = false;
    };
  }, [detail, spaceId]);

  function sortBy(key: SortKey): void {
    if (key === sort) setTable({ sort: key, desc: descending ? '0' : '1' });
    else setTable({ sort: key, desc: undefined });
  }

  function goToFeature(): void {
    if (space === null) return;
    const n = Number(goto.trim());
    if (goto.trim() === '' || !Number.isInteger(n) || n < 0 || n >= space.dSae) {
      setError(`'Go to feature' takes a feature id from 0 to ${formatCount(space.dSae - 1)} in this space, not '${goto}'.`);
      return;
    }
    setError(null);
    open(space.id, n);
  }

  const readyIndexes = space?.indexes.filter((index) => index.state === 'ready') ?? [];
  const columns = page?.datasets ?? [];

  const header = (key: SortKey, label: string) => (
    <th className="sortable" tabIndex={0} onClick={() => sortBy(key)} onKeyDown={(event) => (event.key === 'Enter' || event.key === ' ') && sortBy(key)} aria-sort={sort === key ? (descending ? 'descending' : 'ascending') : 'none'} data-testid={`sort-${key}`}>
      {label}
      {sort === key ? (descending ? ' ▼' : ' ▲') : ''}
    </th>
  );

  if (spaces.length === 0) {
    return (
      <div className="page">
        <section className="panel">
          <h2>Features</h2>
          <p className="muted">No feature index yet. Run a coverage measurement (Coverage page, or `facet coverage`), which indexes the datasets it needs.</p>
        </section>
      </div>
    );
  }

  return (
    <div className="page">
      <section className="panel">
        <div className="form-row">
          <h2 className="inline">Features</h2>
          <select value={spaceId ?? ''} onChange={(event) => open(Number(event.target.value), null)} data-testid="space-select">
            {spaces.map((candidate) => (
              <option key={candidate.id} value={candidate.id}>
                {spaceLabel(candidate)}
              </option>
            ))}
          </select>
        </div>
        {space !== null ? (
          <p className="muted">
            {plural(space.dSae, 'feature')} · indexed: {space.indexes.map((index) => `${datasetLabel({ name: index.datasetName, datasetId: index.datasetId, role: index.datasetRole ?? null })}: ${index.state === 'ready' ? plural(index.indexedCount, 'sample') : `${formatCount(index.indexedCount)} of ${plural(index.sampleCount, 'sample')}, indexing`}`).join(' · ')}
          </p>
        ) : null}
        <div className="features-filters" data-testid="features-filters">
          <label title="Count, mean and max over one dataset's samples (and sort by them), or over every indexed dataset">
            Counts over
            <select value={scope ?? ''} onChange={(event) => setTable({ dataset: event.target.value || undefined })} data-testid="dataset-scope">
              <option value="">all indexed datasets</option>
              {datasetOptions(readyIndexes)}
            </select>
          </label>
          <label title="Only features some sample of the first dataset activates and no sample of the second does">
            Active in
            <select value={activeIn ?? ''} onChange={(event) => setTable({ activeIn: event.target.value || undefined, ...(event.target.value === '' ? { absentIn: undefined } : absentIn === undefined ? { absentIn: String(readyIndexes.find((index) => String(index.datasetId) !== event.target.value)?.datasetId ?? '') } : {}) })} data-testid="active-in">
              <option value="">(any)</option>
              {datasetOptions(readyIndexes)}
            </select>
          </label>
          <label>
            absent in
            <select value={absentIn ?? ''} onChange={(event) => setTable({ absentIn: event.target.value || undefined, ...(event.target.value === '' ? { activeIn: undefined } : {}) })} disabled={activeIn === undefined} data-testid="absent-in">
              <option value="">(any)</option>
              {datasetOptions(readyIndexes.filter((index) => index.datasetId !== activeIn))}
            </select>
          </label>
          <form
            className="inline-form"
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              goToFeature();
            }}
          >
            <label>
              Go to feature
              <input type="number" min={0} max={space !== null ? space.dSae - 1 : undefined} value={goto} onChange={(event) => setGoto(event.target.value)} className="short" placeholder="id" data-testid="goto-feature" />
            </label>
            <button type="submit" data-testid="goto-feature-go">
              Go
            </button>
          </form>
          <div className="search-cell">
          <input
            type="search"
            value={queryText}
            placeholder="Search explanations…"
            onChange={(event) => setQueryText(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter') void search();
            }}
            size={28}
            data-testid="explanation-search"
          />
          <button type="button" onClick={() => void search()} data-testid="explanation-search-go">
            Search
          </button>
          {searchHits !== null ? (
            <button
              type="button"
              onClick={() => {
                setQueryText('');
                setSearchHits(null);
              }}
            >
              Clear search ({searchHits.length} found)
            </button>
          ) : null}
          </div>
          <label>
            Task
            <select value={task} onChange={(event) => setTask(event.target.value)} data-testid="verdict-task">
              <option value="">(none judged)</option>
              {tasks.map((name) => (
                <option key={name}>{name}</option>
              ))}
            </select>
          </label>
          <label>
            Verdict
            <select value={verdictFilter} onChange={(event) => setVerdictFilter(event.target.value as VerdictFilter)} disabled={task === ''} data-testid="verdict-filter">
              <option value="all">all</option>
              <option value="relevant">relevant (Yes, Probably, Maybe)</option>
              <option value="Yes">Yes</option>
              <option value="Probably">Probably</option>
              <option value="Maybe">Maybe</option>
              <option value="No">No</option>
              <option value="unjudged">not judged yet</option>
            </select>
          </label>
        </div>
        {error !== null ? <div className="error">{error}</div> : null}
      </section>
      {spaceId !== null
        ? (() => {
            const open = interpretShown === 'open' || (interpretShown === 'auto' && tasks.length === 0 && explanations.size === 0);
            return (
              <details className="panel interpret-details" open={open} data-testid="interpret-details">
                <summary
                  onClick={(event) => {
                    event.preventDefault();
                    setInterpretShown(open ? 'closed' : 'open');
                  }}
                  data-testid="interpret-toggle"
                >
                  Explain and judge features
                </summary>
                {/* using the panel keeps it open from then on */}
                <div onClickCapture={() => setInterpretShown('open')} onFocusCapture={() => interpretShown === 'auto' && setInterpretShown('open')}>
                  <InterpretPanel spaceId={spaceId} missingRuns={runs.filter((run) => run.result.spaceId === spaceId).map((run) => ({ id: run.id, label: `run ${run.id} (${run.result.seed.dataset} vs ${run.result.anchor.dataset})` }))} />
                </div>
              </details>
            );
          })()
        : null}
      <div className="samples-split">
        <section className="panel grow">
          {page !== null ? (
            <>
              {searchHits !== null && searchHits.length === 0 ? (
                <p className="empty-state" data-testid="features-search-empty">
                  {`No feature's explanation matches '${searchedFor}'. Only explained features can be found: use Explain in 'Explain and judge features' to explain some first, or clear the search.`}
                </p>
              ) : null}
              <div className="table-scroll features-table-scroll">
              <table className="grid" data-testid="features-table">
                <thead>
                  <tr>
                    {header('feature', 'feature')}
                    <th>explanation (detection score)</th>
                    <th>{task === '' ? 'verdict' : `verdict: ${task}`}</th>
                    {header('count', 'samples active')}
                    {header('mean', 'mean g')}
                    {header('max', 'max g')}
                    {columns.map((dataset) => (
                      <th
                        key={dataset.datasetId}
                        className={`sortable dataset-column${scope === dataset.datasetId ? ' scoped' : ''}`}
                        tabIndex={0}
                        title={`Samples of ${dataset.name ?? dataset.datasetId} activating the feature (of ${formatCount(dataset.samples)}), their mean and max g. Click to count and sort over this dataset.`}
                        onClick={() => setTable({ dataset: String(dataset.datasetId), sort: 'count', desc: undefined })}
                        onKeyDown={(event) => (event.key === 'Enter' || event.key === ' ') && setTable({ dataset: String(dataset.datasetId), sort: 'count', desc: undefined })}
                        data-testid="dataset-column"
                      >
                        {dataset.name ?? `dataset ${dataset.datasetId}`}
                        {dataset.role ? <span className="column-role">{dataset.role}</span> : null}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {page.rows.map((row) => (
                    <tr
                      key={row.feature}
                      className={row.feature === feature ? 'selected' : ''}
                      tabIndex={0}
                      onClick={() => spaceId !== null && open(spaceId, row.feature)}
                      onKeyDown={(event) => event.key === 'Enter' && spaceId !== null && open(spaceId, row.feature)}
                      data-testid="feature-row"
                    >
                      <td>{row.feature}</td>
                      <td className="explanation-cell" data-testid="feature-explanation">
                        {(() => {
                          const explanation = explanations.get(row.feature);
                          if (explanation === undefined) return <span className="muted">—</span>;
                          if (!explanation.canTell) return <span className="muted">cannot tell</span>;
                          return (
                            <>
                              {explanation.explanation} <span className="muted">({explanation.score === null ? 'unscored' : explanation.score.toFixed(2)})</span>
                            </>
                          );
                        })()}
                      </td>
                      <td data-testid="feature-verdict">{verdictOf(row.feature)?.verdict ?? <span className="muted">—</span>}</td>
                      <td className="number">{formatCount(row.count)}</td>
                      <td className="number">{formatDecimal(row.mean)}</td>
                      <td className="number">{formatDecimal(row.max)}</td>
                      {(row.byDataset ?? []).map((stats, i) => (
                        <td key={columns[i]?.datasetId ?? i} className={`dataset-cell${stats.count === 0 ? ' absent' : ''}`} data-testid="dataset-cell">
                          <span className="dataset-count">{stats.count === 0 ? '—' : formatCount(stats.count)}</span>
                          {stats.count > 0 ? (
                            <span className="dataset-stats">
                              μ {formatDecimal(stats.mean, 2)} · max {formatDecimal(stats.max, 2)}
                            </span>
                          ) : null}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
              </div>
              <div className="form-row pager">
                <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - pageSize))}>
                  Previous
                </button>
                <span className="muted">
                  {page.total === 0 ? 0 : formatCount(offset + 1)}–{formatCount(Math.min(offset + pageSize, page.total))} of {plural(page.total, 'feature')}
                  {activeIn !== undefined && absentIn !== undefined
                    ? ` active in ${datasetLabel(columns.find((d) => d.datasetId === activeIn) ?? { name: null, datasetId: activeIn })} and absent in ${datasetLabel(columns.find((d) => d.datasetId === absentIn) ?? { name: null, datasetId: absentIn })}`
                    : ' active'}
                  {scope !== undefined ? ` · counts over ${plural(page.samples, 'sample')} of ${columns.find((d) => d.datasetId === scope)?.name ?? scope}` : ` · ${plural(page.samples, 'sample')}`}
                </span>
                <button type="button" disabled={offset + pageSize >= page.total} onClick={() => setOffset(offset + pageSize)}>
                  Next
                </button>
              </div>
            </>
          ) : (
            <p className="muted">Loading…</p>
          )}
        </section>
        {detail !== null ? (
          <aside className="panel feature-detail" data-testid="feature-detail">
            <h2>Feature {detail.feature}</h2>
            <p data-testid="feature-summary">
              active in {formatCount(detail.count)} of {plural(detail.samples, 'sample')}{scope !== undefined ? ` of ${(detail.datasets ?? []).find((d) => d.datasetId === scope)?.name ?? scope}` : ''} ({formatPercent(detail.samples > 0 ? detail.count / detail.samples : null)}) · mean g {formatDecimal(detail.mean)} · max g {formatDecimal(detail.max)}
            </p>
            <div className="table-scroll">
            <table className="grid compact" data-testid="feature-datasets">
              <thead>
                <tr>
                  <th>dataset</th>
                  <th className="number">active in</th>
                  <th className="number">share</th>
                  <th className="number">mean g</th>
                  <th className="number">max g</th>
                </tr>
              </thead>
              <tbody>
                {(detail.datasets ?? []).map((dataset) => (
                  <tr
                    key={dataset.datasetId}
                    className={`${scope === dataset.datasetId ? 'selected' : ''}${dataset.count === 0 ? ' absent' : ''}`}
                    tabIndex={0}
                    title="Show the numbers, histogram and spans of this dataset only (click again for all)"
                    onClick={() => setTable({ dataset: scope === dataset.datasetId ? undefined : String(dataset.datasetId) })}
                    onKeyDown={(event) => event.key === 'Enter' && setTable({ dataset: scope === dataset.datasetId ? undefined : String(dataset.datasetId) })}
                  >
                    <td>
                      {dataset.name ?? `dataset ${dataset.datasetId}`}
                      {dataset.role ? <span className="column-role">{dataset.role}</span> : null}
                    </td>
                    <td className="number">
                      {formatCount(dataset.count)} / {formatCount(dataset.samples)}
                    </td>
                    <td className="number">{formatPercent(dataset.samples > 0 ? dataset.count / dataset.samples : null)}</td>
                    <td className="number">{dataset.count > 0 ? formatDecimal(dataset.mean) : '—'}</td>
                    <td className="number">{dataset.count > 0 ? formatDecimal(dataset.max) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            </div>
            <FeatureHistogram
              edges={detail.histogram.edges}
              series={(detail.histogram.byDataset ?? [{ datasetId: 0, counts: detail.histogram.counts }]).map((entry) => ({ name: (detail.datasets ?? []).find((d) => d.datasetId === entry.datasetId)?.name ?? 'samples', counts: entry.counts }))}
            />
            {spaceId !== null ? <FeatureInterpretation spaceId={spaceId} feature={detail.feature} refresh={spaces} /> : null}
            <h3>Top spans{scope !== undefined ? ` in ${(detail.datasets ?? []).find((d) => d.datasetId === scope)?.name ?? scope}` : ''}</h3>
            <FeatureSpans spans={detail.spans} contexts={contexts} contextState={contextState} />
          </aside>
        ) : null}
      </div>
    </div>
  );
}
