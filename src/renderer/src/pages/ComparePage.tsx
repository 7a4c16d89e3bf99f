import { CartesianGrid, Legend, ReferenceLine, ResponsiveContainer, Scatter, ScatterChart, XAxis, YAxis } from 'recharts';
import { useEffect, useMemo, useState } from 'react';
import type { CompareRunView, CompareScores, PairTokenSide, PairTokenView, SharedFeatureMap, TransferResult } from '../../../shared/compareTypes.ts';
import type { FeatureDetail } from '../../../shared/featureTypes.ts';
import type { FeatureExplanationView } from '../../../shared/interpretationTypes.ts';
import { api } from '../api/connection.ts';
import { formatCount, formatDecimal, plural } from '../../../shared/formatNumber.ts';
import { chartTheme, seriesColor } from '../charts/chartTheme.ts';
import { FeatureSpans } from '../components/FeatureSpans.tsx';
import { JobProgress } from '../components/JobProgress.tsx';
import { useCompareStore } from '../stores/useCompareStore.ts';
import { useDatasetsStore } from '../stores/useDatasetsStore.ts';
import { useFeaturesStore } from '../stores/useFeaturesStore.ts';
import { useJobsStore } from '../stores/useJobsStore.ts';
import { useNavigationStore } from '../stores/useNavigationStore.ts';
import { useRegistryStore } from '../stores/useRegistryStore.ts';
import { usePersistentState } from '../hooks/usePersistentState.ts';

type Encode = '' | 'topk' | 'dense-relu';

const fixed = (value: number | null | undefined, digits = 3): string => (value === null || value === undefined ? 'n/a' : value.toFixed(digits));

/** Pick two spaces and datasets; run; space-level scores beside their nulls; analogous pairs; transfer. */
export function ComparePage() {
  const { models, saes } = useRegistryStore();
  const datasets = useDatasetsStore((state) => state.datasets).filter((dataset) => dataset.state === 'ready');
  const jobs = useJobsStore((state) => state.jobs);
  const { runs, details, load, loadDetail } = useCompareStore();
  // the shown run lives in the URL (#/Compare?run=ID); the form survives leaving the page
  const runParam = useNavigationStore((state) => state.params['run']);
  const selectedRunId = runParam !== undefined && /^\d+$/.test(runParam) ? Number(runParam) : null;
  const select = (runId: number | null): void => useNavigationStore.getState().setParams(runId === null ? {} : { run: String(runId) });
  const [space, setSpace] = usePersistentState('compare.spaces', { modelA: '', saeA: '', encodeA: '' as Encode, modelB: '', saeB: '', encodeB: '' as Encode, modelC: '', saeC: '', encodeC: '' as Encode });
  const [chosen, setChosen] = usePersistentState<string[]>('compare.datasets', []);
  const [minSupport, setMinSupport] = usePersistentState('compare.minSupport', 5);
  // the engine refuses a min support under 2 (a correlation needs two nonzero samples): said here, never silently raised
  const minSupportError = Number.isInteger(minSupport) && minSupport >= 2 && minSupport <= 1_000_000 ? null : `Min support: a whole number from 2 to 1,000,000 (samples a feature must be active in to be matched; a correlation needs two), not ${Number.isFinite(minSupport) ? String(minSupport) : 'empty'}.`;
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void load().catch((caught: Error) => setError(caught.message));
  }, [load]);
  useEffect(() => {
    setSpace((current) => ({
      ...current,
      modelA: current.modelA || (models[0]?.name ?? ''),
      saeA: current.saeA || (saes[0]?.name ?? ''),
      modelB: current.modelB || (models[1]?.name ?? models[0]?.name ?? ''),
      saeB: current.saeB || (saes[1]?.name ?? saes[0]?.name ?? ''),
    }));
  }, [models, saes, setSpace]);

  const active = Object.values(jobs).filter((job) => job.kind === 'compare.run' && (job.state === 'queued' || job.state === 'running' || job.state === 'failed'));
  const shownId = selectedRunId ?? runs[0]?.runId;
  const run = shownId !== undefined ? details[shownId] : undefined;
  useEffect(() => {
    if (shownId !== undefined) void loadDetail(shownId).catch((caught: Error) => setError(caught.message));
  }, [shownId, loadDetail]);

  async function start(): Promise<void> {
    setError(null);
    try {
      const side = (model: string, sae: string, encode: Encode) => ({ model, sae, ...(encode !== '' ? { encode } : {}) });
      const a = side(space.modelA, space.saeA, space.encodeA);
      const b = side(space.modelB, space.saeB, space.encodeB);
      const pairs = [[a, b]];
      // a third space: every pair of the three is compared over the same datasets
      if (space.modelC !== '' && space.saeC !== '') {
        const c = side(space.modelC, space.saeC, space.encodeC);
        pairs.push([a, c], [b, c]);
      }
      for (const [x, y] of pairs) await api.call('compare.run', { a: x!, b: y!, datasets: chosen, minSupport });
      select(null);
    } catch (caught) {
      setError((caught as Error).message);
    }
  }

  const picker = (side: 'A' | 'B' | 'C') => {
    const key = ({ model: `model${side}`, sae: `sae${side}`, encode: `encode${side}` }) as { model: 'modelA' | 'modelB' | 'modelC'; sae: 'saeA' | 'saeB' | 'saeC'; encode: 'encodeA' | 'encodeB' | 'encodeC' };
    const optional = side === 'C';
    return (
      <div className="form-row" data-testid={`compare-space-${side}`}>
        <strong>Space {side}</strong>
        <label>
          Model
          <select value={space[key.model]} onChange={(event) => setSpace({ ...space, [key.model]: event.target.value })} data-testid={`compare-model-${side}`}>
            {optional ? <option value="">(none)</option> : null}
            {models.map((m) => (
              <option key={m.name}>{m.name}</option>
            ))}
          </select>
        </label>
        <label>
          SAE
          <select value={space[key.sae]} onChange={(event) => setSpace({ ...space, [key.sae]: event.target.value })} data-testid={`compare-sae-${side}`}>
            {optional ? <option value="">(none)</option> : null}
            {saes.map((s) => (
              <option key={s.name}>{s.name}</option>
            ))}
          </select>
        </label>
        <label>
          Encode
          <select value={space[key.encode]} onChange={(event) => setSpace({ ...space, [key.encode]: event.target.value as Encode })}>
            <option value="">default (topk for TopK SAEs)</option>
            <option value="topk">topk</option>
            <option value="dense-relu">dense-relu</option>
          </select>
        </label>
      </div>
    );
  };

  return (
    <div className="page">
      <section className="panel">
        <h2>Compare feature spaces</h2>
        {picker('A')}
        {picker('B')}
        {picker('C')}
        <p className="muted">Space C is optional: with it, A↔B, A↔C and B↔C are each compared.</p>
        <div className="form-row">
          <span>Datasets (indexed in both spaces first if needed):</span>
          {datasets.map((dataset) => (
            <label key={dataset.id}>
              <input
                type="checkbox"
                checked={chosen.includes(dataset.name)}
                onChange={(event) => setChosen(event.target.checked ? [...chosen, dataset.name] : chosen.filter((name) => name !== dataset.name))}
                data-testid={`compare-dataset-${dataset.name}`}
              />
              {dataset.name}
            </label>
          ))}
        </div>
        <div className="form-row">
          <label>
            Min support <input type="number" min={2} max={1_000_000} step={1} value={Number.isFinite(minSupport) ? minSupport : ''} onChange={(event) => setMinSupport(event.target.value === '' ? NaN : Number(event.target.value))} aria-invalid={minSupportError !== null} data-testid="compare-min-support" />
          </label>
          <button type="button" className="primary" disabled={!space.modelA || !space.saeA || !space.modelB || !space.saeB || chosen.length === 0 || minSupportError !== null} onClick={() => void start()} data-testid="compare-run">
            Compare
          </button>
        </div>
        {minSupportError !== null ? (
          <div className="error" data-testid="compare-min-support-error">
            {minSupportError}
          </div>
        ) : null}
        <p className="muted">
          Each feature of A with enough nonzero samples gets its best partners in B by Pearson correlation of per-sample activations (zeros included), so different tokenizers need no alignment. Partners are
          analogous, not the same feature: even two SAEs trained on one model share only about half their features.
        </p>
        {error !== null ? <div className="error">{error}</div> : null}
        {active.map((job) => (
          <JobProgress key={job.id} job={job} />
        ))}
      </section>
      {run !== undefined ? (
        <CompareResult run={run} runs={runs} onSelect={select} />
      ) : (
        <section className="panel">
          <p className="muted">No comparisons yet.</p>
        </section>
      )}
    </div>
  );
}

function ScoreRow({ label, scores, testId }: { label: string; scores: CompareScores; testId: string }) {
  return (
    <tr data-testid={testId}>
      <td>{label}</td>
      <td data-testid={`${testId}-svcca`}>{fixed(scores.svcca)}</td>
      <td>{fixed(scores.svccaNull)}</td>
      <td data-testid={`${testId}-rsa`}>{fixed(scores.rsa)}</td>
      <td>{fixed(scores.rsaNull)}</td>
    </tr>
  );
}

function CompareResult({ run, runs, onSelect }: { run: CompareRunView; runs: Omit<CompareRunView, 'pairs'>[]; onSelect: (id: number) => void }) {
  const [limit, setLimit] = useState(25);
  const [onlyMutual, setOnlyMutual] = useState(false);
  const [pair, setPair] = useState<{ a: number; b: number } | null>(null);
  const [labels, setLabels] = useState<{ a: Map<number, FeatureExplanationView>; b: Map<number, FeatureExplanationView> }>({ a: new Map(), b: new Map() });
  const pairs = useMemo(() => [...run.pairs].filter((p) => !onlyMutual || p.mutual).sort((x, y) => y.correlation - x.correlation), [run, onlyMutual]);
  const shown = pairs.slice(0, limit);
  const shownKey = shown.map((p) => `${p.a}:${p.b}`).join(',');

  useEffect(() => {
    let cancelled = false;
    const wanted = (ids: number[]) => [...new Set(ids)].slice(0, 2000);
    void Promise.all([
      api.call('features.interpretations', { spaceId: run.spaceA.id, features: wanted(shown.map((p) => p.a)) }),
      api.call('features.interpretations', { spaceId: run.spaceB.id, features: wanted(shown.map((p) => p.b)) }),
    ]).then(
      ([a, b]) => {
        if (!cancelled) setLabels({ a: new Map(a.explanations.map((e) => [e.feature, e])), b: new Map(b.explanations.map((e) => [e.feature, e])) });
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [run.runId, shownKey]);

  const space = (s: CompareRunView['spaceA']) => `${s.model} · ${s.sae} · l_out-${s.layer} · ${s.encode} · ${s.dSae.toLocaleString()} features`;
  return (
    <>
      <section className="panel" data-testid="compare-result">
        <div className="form-row">
          <h2 className="inline">
            {run.spaceA.model} ↔ {run.spaceB.model}
          </h2>
          <select value={run.runId} onChange={(event) => onSelect(Number(event.target.value))} data-testid="compare-run-select">
            {runs.map((candidate) => (
              <option key={candidate.runId} value={candidate.runId}>
                run {candidate.runId} · {candidate.spaceA.model}:{candidate.spaceA.sae} ↔ {candidate.spaceB.model}:{candidate.spaceB.sae}
              </option>
            ))}
          </select>
        </div>
        <p className="muted">
          A: {space(run.spaceA)}
          <br />
          B: {space(run.spaceB)}
          <br />
          over {run.datasets.map((d) => `${d.dataset} (${d.samples})`).join(', ')} · min support {run.params.minSupport}
        </p>
        <p data-testid="compare-counts">
          {run.supportedA.toLocaleString()} supported features in A, {run.supportedB.toLocaleString()} in B · {run.pairCount.toLocaleString()} pairs, <strong data-testid="compare-mutual">{run.mutual.toLocaleString()}</strong> mutual best ·
          mean correlation {fixed(run.meanCorrelation)}
        </p>
        <h3>How shared are the spaces?</h3>
        <table className="grid" data-testid="compare-scores">
          <thead>
            <tr>
              <th>over {run.pairsUsed} matched pairs</th>
              <th>SVCCA</th>
              <th>null (random pairings)</th>
              <th>RSA</th>
              <th>null (random pairings)</th>
            </tr>
          </thead>
          <tbody>
            {run.decoder !== null ? <ScoreRow label="decoder directions" scores={run.decoder} testId="compare-decoder" /> : null}
            <ScoreRow label="activation profiles" scores={run.profiles} testId="compare-profiles" />
          </tbody>
        </table>
        <p className="muted">A score well above its null (mean of {run.nullRepeats} random pairings of the same features) means the matched features are arranged alike in both spaces.</p>
        <SameDataRuns run={run} runs={runs} onSelect={onSelect} />
        {run.map !== undefined && run.map.points.length > 0 ? <SharedMap map={run.map} modelA={run.spaceA.model} modelB={run.spaceB.model} onPick={setPair} /> : null}
      </section>
      <section className="panel">
        <div className="form-row">
          <h3 className="inline">Analogous pairs</h3>
          <label>
            <input type="checkbox" checked={onlyMutual} onChange={(event) => setOnlyMutual(event.target.checked)} data-testid="compare-only-mutual" /> mutual best only
          </label>
          <span className="muted">
            {shown.length} of {pairs.length}, most correlated first
          </span>
          {limit < pairs.length ? (
            <button type="button" onClick={() => setLimit(limit + 100)}>
              Show more
            </button>
          ) : null}
        </div>
        <table className="grid" data-testid="compare-pairs">
          <thead>
            <tr>
              <th>A feature</th>
              <th>explanation in A</th>
              <th>B feature</th>
              <th>explanation in B</th>
              <th>correlation</th>
              <th>mutual</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((p) => (
              <tr key={`${p.a}:${p.b}`} data-testid="compare-pair" className={pair?.a === p.a && pair.b === p.b ? 'selected' : ''} onClick={() => setPair({ a: p.a, b: p.b })}>
                <td>{p.a}</td>
                <td>{labels.a.get(p.a)?.explanation ?? ''}</td>
                <td>{p.b}</td>
                <td>{labels.b.get(p.b)?.explanation ?? ''}</td>
                <td>{p.correlation.toFixed(3)}</td>
                <td>{p.mutual ? 'yes' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {pair !== null ? <PairDetail run={run} a={pair.a} b={pair.b} /> : <p className="muted">Click a pair to see both features' top spans side by side.</p>}
      </section>
      <FacSideBySide run={run} />
      <TransferPanel run={run} />
    </>
  );
}

function PairDetail({ run, a, b }: { run: CompareRunView; a: number; b: number }) {
  const [detail, setDetail] = useState<{ a: FeatureDetail; b: FeatureDetail } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const open = useFeaturesStore((state) => state.open);
  const go = useNavigationStore((state) => state.go);
  useEffect(() => {
    let cancelled = false;
    setDetail(null);
    void Promise.all([api.call('features.detail', { spaceId: run.spaceA.id, feature: a, spans: 5 }), api.call('features.detail', { spaceId: run.spaceB.id, feature: b, spans: 5 })]).then(
      ([x, y]) => {
        if (!cancelled) setDetail({ a: x, b: y });
      },
      (caught: Error) => setError(caught.message),
    );
    return () => {
      cancelled = true;
    };
  }, [run.spaceA.id, run.spaceB.id, a, b]);
  if (error !== null) return <div className="error">{error}</div>;
  if (detail === null) return <p className="muted">Loading…</p>;
  const side = (label: string, spaceId: number, model: string, feature: number, d: FeatureDetail) => (
    <div className="pair-side" data-testid={`compare-pair-${label}`}>
      <h4>
        {label}: {model} ·{' '}
        <button
          type="button"
          className="link"
          onClick={() => {
            open(spaceId, feature);
            go('Features');
          }}
        >
          feature {feature}
        </button>
      </h4>
      <p className="muted">active in {plural(d.count, 'sample')}</p>
      <FeatureSpans spans={d.spans} />
    </div>
  );
  return (
    <>
      <div className="pair-detail" style={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: '1em' }}>
        {side('A', run.spaceA.id, run.spaceA.model, a, detail.a)}
        {side('B', run.spaceB.id, run.spaceB.model, b, detail.b)}
      </div>
      <TokenView run={run} a={a} b={b} />
    </>
  );
}

/** Both models' tokens of one sample on the same characters, shaded by the feature's code. */
function TokenView({ run, a, b }: { run: CompareRunView; a: number; b: number }) {
  const [view, setView] = useState<PairTokenView | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setView(null), [run.runId, a, b]);
  async function show(): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      setView(await api.call('compare.tokens', { runId: run.runId, a, b }));
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setBusy(false);
    }
  }
  const row = (label: string, side: PairTokenSide, text: string) => {
    const scale = side.g > 0 ? side.g : 1;
    const parts: React.ReactNode[] = [];
    let at = 0;
    side.tokens.forEach((token, i) => {
      if (token.start < at) return; // bytes of a character already shown
      if (token.start > at) parts.push(<span key={`gap-${i}`}>{text.slice(at, token.start)}</span>);
      const share = Math.max(0, token.value) / scale;
      parts.push(
        <span
          key={i}
          data-testid="compare-token"
          data-value={token.value}
          title={`token ${token.token} ${JSON.stringify(token.piece)} · ${token.value.toFixed(3)}`}
          style={{ background: `rgba(${label === 'A' ? '37, 99, 235' : '234, 88, 12'}, ${(0.08 + 0.8 * share).toFixed(3)})`, borderRight: '1px solid rgba(0,0,0,0.25)', padding: '1px 0' }}
        >
          {text.slice(token.start, token.end)}
        </span>,
      );
      at = token.end;
    });
    if (at < text.length) parts.push(<span key="tail">{text.slice(at)}</span>);
    return (
      <div data-testid={`compare-token-${label}`} style={{ margin: '0.5em 0' }}>
        <div className="muted">
          {label}: {side.model} · feature {side.feature} · {side.tokens.length} tokens · max {side.g.toFixed(3)}
        </div>
        <div style={{ fontFamily: 'monospace', whiteSpace: 'pre-wrap', lineHeight: 1.8 }}>{parts}</div>
      </div>
    );
  };
  return (
    <div data-testid="compare-token-view">
      <button type="button" disabled={busy} onClick={() => void show()} data-testid="compare-token-show">
        {busy ? 'Running both models…' : 'Token view (both models on one sample)'}
      </button>
      {error !== null ? <div className="error">{error}</div> : null}
      {view !== null ? (
        <div>
          <p className="muted">
            Sample {view.ordinal} of dataset {view.datasetId} (the one where both features fire together most). Each model's tokens are placed on the sample's characters; shading is the feature's code at that token, relative to its maximum.
          </p>
          {row('A', view.a, view.text)}
          {row('B', view.b, view.text)}
        </div>
      ) : null}
    </div>
  );
}

function TransferPanel({ run }: { run: CompareRunView }) {
  const coverageRuns = useFeaturesStore((state) => state.runs).filter((candidate) => candidate.result.spaceId === run.spaceA.id);
  const [coverageRunId, setCoverageRunId] = useState<number | null>(null);
  const [minCorrelation, setMinCorrelation] = useState(0.5);
  const [result, setResult] = useState<TransferResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const chosen = coverageRunId ?? coverageRuns[0]?.id ?? null;
  async function transfer(): Promise<void> {
    if (chosen === null) return;
    setError(null);
    try {
      setResult(await api.call('compare.transfer', { runId: run.runId, coverageRunId: chosen, minCorrelation }));
    } catch (caught) {
      setError((caught as Error).message);
    }
  }
  return (
    <section className="panel" data-testid="compare-transfer">
      <h3>Transfer missing features from A to B</h3>
      {coverageRuns.length === 0 ? (
        <p className="muted">No coverage run in space A ({run.spaceA.model} · {run.spaceA.sae}) yet: measure coverage there first.</p>
      ) : (
        <div className="form-row">
          <label>
            Coverage run
            <select value={chosen ?? ''} onChange={(event) => setCoverageRunId(Number(event.target.value))} data-testid="compare-transfer-run">
              {coverageRuns.map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  run {candidate.id} · {candidate.result.seed.dataset} vs {candidate.result.anchor.dataset}
                </option>
              ))}
            </select>
          </label>
          <label>
            Min correlation <input type="number" step={0.05} min={-1} max={1} value={minCorrelation} onChange={(event) => setMinCorrelation(Number(event.target.value))} data-testid="compare-transfer-min" />
          </label>
          <button type="button" onClick={() => void transfer()} data-testid="compare-transfer-go">
            Transfer these features
          </button>
        </div>
      )}
      {error !== null ? <div className="error">{error}</div> : null}
      {result !== null ? (
        <div data-testid="compare-transfer-result">
          <p>
            {result.mapping.length} of {result.missing} missing features (δ = {result.threshold}) have a partner with correlation ≥ {result.minCorrelation}: <strong data-testid="compare-transfer-count">{result.features.length}</strong> features of B.
            Save the list below as a file and pass it as <code>--features FILE</code> to <code>facet coverage</code> or <code>facet synthesize</code> with B's model and SAE.
          </p>
          <textarea readOnly rows={3} value={JSON.stringify(result.features)} data-testid="compare-transfer-ids" style={{ width: '100%' }} />
        </div>
      ) : null}
    </section>
  );
}

/** Features of both spaces laid out by their activation profiles (classical MDS), matched pairs linked; wheel zooms, hover names a point, click opens its pair. */
function SharedMap({ map, modelA, modelB, onPick }: { map: SharedFeatureMap; modelA: string; modelB: string; onPick: (pair: { a: number; b: number }) => void }) {
  const [zoom, setZoom] = useState(1);
  const half = map.points.length / 2;
  const extent = Math.max(1e-9, ...map.points.map((p) => Math.max(Math.abs(p.x), Math.abs(p.y)))) * 1.05;
  const domain: [number, number] = [-extent / zoom, extent / zoom];
  const points = map.points.map((p, i) => {
    const partner = map.points[i < half ? i + half : i - half]!;
    return { ...p, pair: p.space === 'A' ? { a: p.feature, b: partner.feature } : { a: partner.feature, b: p.feature }, partner: partner.feature };
  });
  type MapPoint = (typeof points)[number];
  const shape = (props: unknown) => {
    const { cx, cy, payload } = props as { cx: number; cy: number; payload: MapPoint };
    return (
      <circle cx={cx} cy={cy} r={4} fill={seriesColor(payload.space === 'A' ? 0 : 1)} data-testid="compare-map-point" style={{ cursor: 'pointer' }} onClick={() => onPick(payload.pair)}>
        <title>{`${payload.space === 'A' ? modelA : modelB} feature ${payload.feature} ↔ ${payload.space === 'A' ? modelB : modelA} feature ${payload.partner} (r = ${formatDecimal(payload.correlation)})`}</title>
      </circle>
    );
  };
  return (
    <div data-testid="compare-map" onWheel={(event) => setZoom((current) => Math.min(40, Math.max(0.5, current * (event.deltaY < 0 ? 1.25 : 0.8))))}>
      <h3 className="compare-map-heading">Shared map</h3>
      <p className="muted">
        {half} random pairs; lines join matched pairs. Close points fire on the same samples. Scroll to zoom ({zoom.toFixed(1)}×).
      </p>
      <ResponsiveContainer width="100%" height={440}>
        <ScatterChart margin={{ top: 8, right: 16, bottom: 16, left: 0 }}>
          <CartesianGrid stroke={chartTheme.grid} />
          <XAxis type="number" dataKey="x" domain={domain} allowDataOverflow tick={false} label={{ value: 'MDS axis 1 (arbitrary units)', position: 'insideBottom', offset: -8, ...chartTheme.tick }} />
          <YAxis type="number" dataKey="y" domain={domain} allowDataOverflow tick={false} width={24} label={{ value: 'MDS axis 2 (arbitrary units)', angle: -90, position: 'insideLeft', ...chartTheme.tick }} />
          {points.slice(0, half).map((p, i) => (
            <ReferenceLine key={`pair-${i}`} segment={[{ x: p.x, y: p.y }, { x: points[half + i]!.x, y: points[half + i]!.y }]} stroke={chartTheme.axis} strokeOpacity={0.35} ifOverflow="hidden" />
          ))}
          <Legend wrapperStyle={{ fontSize: 12 }} verticalAlign="top" />
          <Scatter name={modelA} data={points.slice(0, half)} fill={seriesColor(0)} shape={shape} isAnimationActive={false} />
          <Scatter name={modelB} data={points.slice(half)} fill={seriesColor(1)} shape={shape} isAnimationActive={false} />
        </ScatterChart>
      </ResponsiveContainer>
    </div>
  );
}

/** FAC of the same seed against the same anchor in space A and in space B, from coverage runs already measured in each. */
function FacSideBySide({ run }: { run: CompareRunView }) {
  const runs = useFeaturesStore((state) => state.runs);
  const rows: { anchor: string; seed: string; threshold: number; a: number | null; b: number | null }[] = [];
  const key = (anchor: string, seed: string, threshold: number) => `${anchor}\u0000${seed}\u0000${threshold}`;
  const inB = new Map<string, number | null>();
  for (const candidate of runs) {
    if (candidate.result.spaceId !== run.spaceB.id) continue;
    for (const result of candidate.result.results) {
      const k = key(candidate.result.anchor.dataset, candidate.result.seed.dataset, result.threshold);
      if (!inB.has(k)) inB.set(k, result.fac);
    }
  }
  const seen = new Set<string>();
  for (const candidate of runs) {
    if (candidate.result.spaceId !== run.spaceA.id) continue;
    for (const result of candidate.result.results) {
      const k = key(candidate.result.anchor.dataset, candidate.result.seed.dataset, result.threshold);
      if (seen.has(k) || !inB.has(k)) continue;
      seen.add(k);
      rows.push({ anchor: candidate.result.anchor.dataset, seed: candidate.result.seed.dataset, threshold: result.threshold, a: result.fac, b: inB.get(k) ?? null });
    }
  }
  const percent = (value: number | null) => (value === null ? 'n/a' : `${(value * 100).toFixed(1)}%`);
  return (
    <section className="panel" data-testid="compare-fac">
      <h3>FAC of the same data in each space</h3>
      {rows.length === 0 ? (
        <p className="muted">Measure coverage of the same seed against the same anchor with both models (Coverage page, or 'facet coverage') to see them side by side here.</p>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>seed vs anchor</th>
              <th>δ</th>
              <th>FAC in A ({run.spaceA.model})</th>
              <th>FAC in B ({run.spaceB.model})</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={key(row.anchor, row.seed, row.threshold)} data-testid="compare-fac-row">
                <td>
                  {row.seed} vs {row.anchor}
                </td>
                <td>{row.threshold}</td>
                <td>{percent(row.a)}</td>
                <td>{percent(row.b)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Every stored comparison over the same datasets (e.g. the three pairs of three spaces), with its scores. */
function SameDataRuns({ run, runs, onSelect }: { run: CompareRunView; runs: Omit<CompareRunView, 'pairs'>[]; onSelect: (id: number) => void }) {
  const datasetsKey = (r: Omit<CompareRunView, 'pairs'>) => r.datasets.map((d) => d.datasetId).join(',');
  const same = runs.filter((candidate) => datasetsKey(candidate) === datasetsKey(run));
  if (same.length < 2) return null;
  return (
    <>
      <h3>All spaces compared over {run.datasets.map((d) => d.dataset).join(', ')}</h3>
      <div className="table-scroll">
      <table className="grid" data-testid="compare-same-data">
        <thead>
          <tr>
            <th>run</th>
            <th>made</th>
            <th>datasets (samples)</th>
            <th>min support</th>
            <th>A</th>
            <th>B</th>
            <th>mutual pairs</th>
            <th>SVCCA (null)</th>
            <th>RSA (null)</th>
          </tr>
        </thead>
        <tbody>
          {same.map((candidate) => (
            <tr key={candidate.runId} className={candidate.runId === run.runId ? 'selected' : ''} onClick={() => onSelect(candidate.runId)} data-testid="compare-same-data-row">
              <td data-testid="compare-same-data-run">run {candidate.runId}</td>
              <td className="nowrap">{candidate.createdAt !== undefined ? new Date(candidate.createdAt).toLocaleString('en-US') : 'n/a'}</td>
              <td>{candidate.datasets.map((d) => `${d.dataset} (${formatCount(d.samples)})`).join(', ')}</td>
              <td>{formatCount(candidate.params.minSupport)}</td>
              <td>
                {candidate.spaceA.model}:{candidate.spaceA.sae}
              </td>
              <td>
                {candidate.spaceB.model}:{candidate.spaceB.sae}
              </td>
              <td>{candidate.mutual}</td>
              <td>
                {fixed(candidate.decoder?.svcca)} ({fixed(candidate.decoder?.svccaNull)})
              </td>
              <td>
                {fixed(candidate.decoder?.rsa)} ({fixed(candidate.decoder?.rsaNull)})
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
    </>
  );
}
