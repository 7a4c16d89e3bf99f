import { useEffect, useState } from 'react';
import type { FeatureDetail, FeatureSpaceView, FeatureTablePage } from '../../../shared/featureTypes.ts';
import type { FeatureExplanationView, FeatureVerdictView, RelevanceVerdict } from '../../../shared/interpretationTypes.ts';
import { api } from '../api/connection.ts';
import { FeatureHistogram } from '../components/FeatureHistogram.tsx';
import { FeatureInterpretation } from '../components/FeatureInterpretation.tsx';
import { FeatureSpans } from '../components/FeatureSpans.tsx';
import { InterpretPanel } from '../components/InterpretPanel.tsx';
import { useFeaturesStore } from '../stores/useFeaturesStore.ts';

type SortKey = 'feature' | 'count' | 'mean' | 'max';
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
  const [sort, setSort] = useState<SortKey>('count');
  const [descending, setDescending] = useState(true);
  const [offset, setOffset] = useState(0);
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
    const filter = subset(searchHits, taskVerdicts, task === '' ? 'all' : verdictFilter);
    api.call('features.table', { spaceId, sort, descending, offset, limit: pageSize, ...filter }).then(setPage, (caught: Error) => setError(caught.message));
  }, [spaceId, sort, descending, offset, spaces, searchHits, taskVerdicts, verdictFilter, task]);

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
    const words = queryText.trim();
    if (words === '' || spaceId === null) {
      setSearchHits(null);
      return;
    }
    try {
      const hits = await api.call('features.search', { query: words, spaceId, limit: 500 });
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
    api.call('features.detail', { spaceId, feature }).then(setDetail, (caught: Error) => setError(caught.message));
  }, [spaceId, feature, spaces]);

  function sortBy(key: SortKey): void {
    if (key === sort) setDescending(!descending);
    else {
      setSort(key);
      setDescending(key !== 'feature');
    }
    setOffset(0);
  }

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
            {space.dSae.toLocaleString()} features · indexed: {space.indexes.map((index) => `${index.datasetName ?? index.datasetId} (${index.indexedCount}/${index.sampleCount}${index.state === 'ready' ? '' : ', indexing'})`).join(', ')}
          </p>
        ) : null}
        <div className="form-row">
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
      {spaceId !== null ? <InterpretPanel spaceId={spaceId} missingRuns={runs.filter((run) => run.result.spaceId === spaceId).map((run) => ({ id: run.id, label: `run ${run.id} (${run.result.seed.dataset} vs ${run.result.anchor.dataset})` }))} /> : null}
      <div className="samples-split">
        <section className="panel grow">
          {page !== null ? (
            <>
              <table className="grid" data-testid="features-table">
                <thead>
                  <tr>
                    {header('feature', 'feature')}
                    {header('count', 'samples active')}
                    {header('mean', 'mean g')}
                    {header('max', 'max g')}
                    <th>explanation (detection score)</th>
                    <th>{task === '' ? 'verdict' : `verdict: ${task}`}</th>
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
                      <td>{row.count}</td>
                      <td>{row.mean.toFixed(3)}</td>
                      <td>{row.max.toFixed(3)}</td>
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
                    </tr>
                  ))}
                </tbody>
              </table>
              <div className="form-row pager">
                <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - pageSize))}>
                  Previous
                </button>
                <span className="muted">
                  {page.total === 0 ? 0 : offset + 1}–{Math.min(offset + pageSize, page.total)} of {page.total.toLocaleString()} active features · {page.samples} samples
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
            <p>
              active in {detail.count} of {detail.samples} samples · mean {detail.mean.toFixed(3)} · max {detail.max.toFixed(3)}
            </p>
            <FeatureHistogram edges={detail.histogram.edges} counts={detail.histogram.counts} />
            {spaceId !== null ? <FeatureInterpretation spaceId={spaceId} feature={detail.feature} refresh={spaces} /> : null}
            <h3>Top spans</h3>
            <FeatureSpans spans={detail.spans} />
          </aside>
        ) : null}
      </div>
    </div>
  );
}
