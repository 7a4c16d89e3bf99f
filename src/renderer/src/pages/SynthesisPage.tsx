import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useEffect, useMemo, useState } from 'react';
import type { CoverageRunView } from '../../../shared/featureTypes.ts';
import { exportFormats, synthesisTasks, type DatasetExportView, type ExportFormat, type SynthesisCandidateView, type SynthesisRunView, type SynthesisTaskName } from '../../../shared/synthesisTypes.ts';
import { formatCount, formatDecimal, formatPercent, plural } from '../../../shared/formatNumber.ts';
import { api } from '../api/connection.ts';
import { chartTheme } from '../charts/chartTheme.ts';
import { JobProgress } from '../components/JobProgress.tsx';
import { usePersistentState } from '../hooks/usePersistentState.ts';
import { useFeaturesStore } from '../stores/useFeaturesStore.ts';
import { useJobsStore } from '../stores/useJobsStore.ts';
import { useNavigationStore } from '../stores/useNavigationStore.ts';
import { useRegistryStore } from '../stores/useRegistryStore.ts';
import { useSynthesisStore } from '../stores/useSynthesisStore.ts';

const percent = (value: number | null | undefined): string => formatPercent(value);
const fixed = (value: number | null, digits = 3): string => formatDecimal(value, digits);

function numbers(text: string): number[] | null {
  if (text.trim() === '') return [];
  const values = text.split(',').map((part) => Number(part.trim()));
  return values.every((value) => Number.isFinite(value)) ? values : null;
}

/** Template and KV type of the coverage run's feature space, so synthesis measures in the same space. */
function spaceOptions(coverage: CoverageRunView): { template?: boolean; kv?: 'f16' | 'f32' } {
  const result = coverage.result as CoverageRunView['result'] & { template?: unknown; kv?: unknown };
  return { ...(typeof result.template === 'boolean' ? { template: result.template } : {}), ...(result.kv === 'f16' || result.kv === 'f32' ? { kv: result.kv } : {}) };
}

/** Start a synthesis from a coverage run's missing features, follow its candidates, edit, export. */
export function SynthesisPage() {
  const coverageRuns = useFeaturesStore((state) => state.runs);
  const models = useRegistryStore((state) => state.models);
  const jobs = useJobsStore((state) => state.jobs);
  const { runs, load } = useSynthesisStore();
  const params = useNavigationStore((state) => state.params);
  const selectedRunId = params['run'] !== undefined ? Number(params['run']) : null;
  // the shown run lives in the URL (#/Synthesis?run=ID): reload, Back and shared links keep it
  const select = (runId: number): void => useNavigationStore.getState().setParams({ run: String(runId) });
  const selectFromStore = useSynthesisStore((state) => state.select);
  useEffect(() => {
    selectFromStore(selectedRunId);
  }, [selectedRunId, selectFromStore]);
  useEffect(() => {
    void load();
  }, [load]);
  const active = Object.values(jobs).filter((job) => job.kind === 'synthesis.run' && (job.state === 'queued' || job.state === 'running' || job.state === 'failed'));
  const run = runs.find((candidate) => candidate.id === selectedRunId) ?? runs[0];
  return (
    <div className="page">
      <StartPanel coverageRuns={coverageRuns} models={models.map((model) => model.name)} />
      {active.length > 0 ? (
        <section className="panel">
          {active.map((job) => (
            <JobProgress key={job.id} job={job} />
          ))}
        </section>
      ) : null}
      {run !== undefined ? (
        <section className="panel" data-testid="synthesis-run">
          <div className="form-row">
            <h2 className="inline">
              {run.dataset ?? '(dataset removed)'} · {run.task}
            </h2>
            <select value={run.id} onChange={(event) => select(Number(event.target.value))} data-testid="synthesis-run-select">
              {runs.map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  run {candidate.id} · {candidate.task} · {candidate.dataset ?? '—'} · {candidate.state} · {new Date(candidate.createdAt).toLocaleString()}
                </option>
              ))}
            </select>
          </div>
          <p className="muted">
            {run.finishedFeatures} of {run.features.length} features done · {run.state}
            {run.report !== null
              ? ` · ${plural(run.report.candidates, 'candidate')}: ${formatCount(run.report.acceptedCount)} accepted, ${formatCount(run.report.rejectedCount)} rejected, ${formatCount(run.report.candidates - run.report.acceptedCount - run.report.rejectedCount)} kept as contrastive examples or ranked below the kept ones · coherence bound: perplexity ≤ ${fixed(run.report.coherence.bound, 1)}`
              : ''}
          </p>
          {run.report !== null ? <CoverageChart run={run} /> : null}
          {run.report !== null && run.report.steering.length > 1 ? (
            <table className="grid" data-testid="synthesis-steering">
              <thead>
                <tr>
                  <th>steering</th>
                  <th>candidates</th>
                  <th>passed gate</th>
                  <th>acceptance</th>
                  <th>mean perplexity</th>
                </tr>
              </thead>
              <tbody>
                {run.report.steering.map((row) => (
                  <tr key={row.strength}>
                    <td>{row.strength}</td>
                    <td>{row.candidates}</td>
                    <td>{row.passed}</td>
                    <td>{percent(row.acceptance)}</td>
                    <td>{fixed(row.meanPerplexity, 1)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          <Candidates run={run} />
          {run.state === 'done' && run.datasetId !== null ? <ExportPanel datasetId={run.datasetId} /> : null}
          {run.state === 'done' && run.report !== null ? (
            <p className="muted">
              Does it help more than plain generation?{' '}
              <button type="button" className="link" onClick={() => useNavigationStore.getState().go('Evaluate')} data-testid="synthesis-to-evaluate">
                Compare seed, this set and a same-budget plain baseline on the Evaluate page
              </button>
            </p>
          ) : null}
        </section>
      ) : (
        <section className="panel">
          <p className="muted">No synthesis runs yet.</p>
        </section>
      )}
    </div>
  );
}

function StartPanel({ coverageRuns, models }: { coverageRuns: CoverageRunView[]; models: string[] }) {
  const [coverageId, setCoverageId] = usePersistentState<number | null>('synthesis.coverageRun', null);
  const [task, setTask] = usePersistentState<Exclude<SynthesisTaskName, 'custom'>>('synthesis.task', 'instruction-following');
  const [generator, setGenerator] = usePersistentState('synthesis.generator', '');
  const [scope, setScope] = usePersistentState<'all' | 'picked'>('synthesis.scope', 'all');
  const [picked, setPicked] = useState<Set<number>>(new Set());
  const [relevantOnly, setRelevantOnly] = usePersistentState('synthesis.relevantOnly', false);
  const [relevant, setRelevant] = useState<Set<number> | null>(null);
  const [limit, setLimit] = usePersistentState('synthesis.limit', '5');
  const [candidates, setCandidates] = usePersistentState('synthesis.candidates', '2');
  const [contrast, setContrast] = usePersistentState('synthesis.contrast', '2');
  const [keep, setKeep] = usePersistentState('synthesis.keep', '1');
  const [maxNewTokens, setMaxNewTokens] = usePersistentState('synthesis.maxNewTokens', '');
  const [steer, setSteer] = usePersistentState('synthesis.steer', '');
  const [coherence, setCoherence] = usePersistentState('synthesis.coherence', true);
  const [error, setError] = useState<string | null>(null);
  const coverage = coverageRuns.find((candidate) => candidate.id === coverageId) ?? coverageRuns[0];
  const missing = useMemo(() => coverage?.result.results[0]?.missing ?? [], [coverage]);

  // Task relevance, when the features were judged for this task ('facet features judge').
  useEffect(() => {
    setRelevant(null);
    if (coverage === undefined) return;
    let stale = false;
    api.call('features.verdicts', { spaceId: coverage.result.spaceId, task }).then(
      (verdicts) => {
        if (!stale) setRelevant(verdicts.length === 0 ? null : new Set(verdicts.filter((verdict) => verdict.verdict !== 'No').map((verdict) => verdict.feature)));
      },
      () => undefined,
    );
    return () => {
      stale = true;
    };
  }, [coverage, task]);

  const budgetValid = limit.trim() === '' || (Number.isInteger(Number(limit)) && Number(limit) >= 1);
  const chosen = (scope === 'all' ? missing : missing.filter((feature) => picked.has(feature))).filter((feature) => !relevantOnly || relevant === null || relevant.has(feature));

  async function start(): Promise<void> {
    setError(null);
    if (coverage === undefined) return;
    const strengths = numbers(steer);
    const whole = (text: string, name: string, low: number): number | undefined => {
      if (text.trim() === '') return undefined;
      const value = Number(text);
      if (!Number.isInteger(value) || value < low) throw new Error(`${name} must be a whole number ≥ ${low}.`);
      return value;
    };
    try {
      if (strengths === null) throw new Error('Steering: comma-separated numbers, e.g. 4 or 2, 4, 8 (0 always runs too).');
      if (chosen.length === 0) throw new Error('No feature selected: pick missing features, or use all of them.');
      const budget = whole(limit, 'Budget', 1);
      await api.call('synthesis.run', {
        model: coverage.result.model,
        sae: coverage.result.sae,
        layer: coverage.result.layer,
        ...(coverage.result.encode === 'topk' || coverage.result.encode === 'dense-relu' ? { encode: coverage.result.encode } : {}),
        // the stored report carries the rest of the space's identity (the view type names only part of it)
        ...spaceOptions(coverage),
        anchor: coverage.result.anchor.dataset,
        seed: coverage.result.seed.dataset,
        task,
        ...(generator !== '' ? { generator } : {}),
        features: scope === 'all' && !relevantOnly ? `missing:${coverage.id}` : chosen,
        threshold: coverage.result.results[0]?.threshold ?? 0,
        reportThresholds: coverage.result.results.map((row) => row.threshold),
        ...(budget !== undefined ? { limit: budget } : {}),
        candidates: whole(candidates, 'Candidates n', 1) ?? 2,
        contrast: whole(contrast, 'Contrast m', 1) ?? 2,
        keep: whole(keep, 'Keep k', 1) ?? 1,
        ...(whole(maxNewTokens, 'Max new tokens', 8) !== undefined ? { maxNewTokens: whole(maxNewTokens, 'Max new tokens', 8)! } : {}),
        ...(strengths.length > 0 ? { steer: strengths } : {}),
        coherence,
      });
    } catch (caught) {
      setError((caught as Error).message);
    }
  }

  if (coverage === undefined) {
    return (
      <section className="panel">
        <h2>Synthesize</h2>
        <p className="muted">Measure coverage first (Coverage page): synthesis starts from the features a seed set misses against its anchor set.</p>
      </section>
    );
  }
  return (
    <section className="panel" data-testid="synthesis-start">
      <h2>Synthesize</h2>
      <div className="form-row">
        <label>
          Coverage run
          <select value={coverage.id} onChange={(event) => setCoverageId(Number(event.target.value))} data-testid="synthesis-coverage">
            {coverageRuns.map((candidate) => (
              <option key={candidate.id} value={candidate.id}>
                run {candidate.id} · {candidate.result.seed.dataset} vs {candidate.result.anchor.dataset} · {candidate.result.results[0]?.missing.length ?? 0} missing at δ = {candidate.result.results[0]?.threshold}
              </option>
            ))}
          </select>
        </label>
        <label>
          Task
          <select value={task} onChange={(event) => setTask(event.target.value as Exclude<SynthesisTaskName, 'custom'>)} data-testid="synthesis-task">
            {synthesisTasks
              .filter((name) => name !== 'custom')
              .map((name) => (
                <option key={name}>{name}</option>
              ))}
          </select>
        </label>
        <label>
          Generator
          <select value={generator} onChange={(event) => setGenerator(event.target.value)} data-testid="synthesis-generator">
            <option value="">{coverage.result.model} (the measuring model)</option>
            {models
              .filter((name) => name !== coverage.result.model)
              .map((name) => (
                <option key={name}>{name}</option>
              ))}
          </select>
        </label>
      </div>
      <p className="muted">
        {coverage.result.model} · {coverage.result.sae} · l_out-{coverage.result.layer} · {coverage.result.encode} · gate δ = {coverage.result.results[0]?.threshold}: a sample is kept only if its re-measured activation of the target feature is above δ, it parses in the task's format, its perplexity is within the bound set from the anchor set, and it is no near-duplicate.
      </p>
      <div className="form-row">
        <label>
          <input type="radio" checked={scope === 'all'} onChange={() => setScope('all')} /> {missing.length === 1 ? 'the 1 missing feature' : `all ${plural(missing.length, 'missing feature')}`}
        </label>
        <label>
          <input type="radio" checked={scope === 'picked'} onChange={() => setScope('picked')} data-testid="synthesis-scope-picked" /> picked ({picked.size})
        </label>
        <label title={relevant === null ? `No feature of this space was judged for ${task} yet ('facet features judge' or the Features page).` : ''}>
          <input type="checkbox" checked={relevantOnly} disabled={relevant === null} onChange={(event) => setRelevantOnly(event.target.checked)} /> only judged relevant to {task}
          {relevant === null ? <span className="muted"> (not judged)</span> : null}
        </label>
      </div>
      {scope === 'picked' ? (
        <div className="feature-picks" data-testid="synthesis-picks">
          {coverage.result.topMissing.map((entry) => (
            <label key={entry.feature} className="pick">
              <input
                type="checkbox"
                checked={picked.has(entry.feature)}
                onChange={(event) => {
                  const next = new Set(picked);
                  if (event.target.checked) next.add(entry.feature);
                  else next.delete(entry.feature);
                  setPicked(next);
                }}
                data-testid="synthesis-pick"
              />{' '}
              feature {entry.feature} <span className="muted">({entry.anchorSamples} anchor samples; {entry.spans[0] ? `…${entry.spans[0].prefixText.slice(-40)}[${entry.spans[0].peakText}]` : ''})</span>
            </label>
          ))}
        </div>
      ) : null}
      <div className="form-row">
        <label>
          Budget (features) <input className="short" value={limit} onChange={(event) => setLimit(event.target.value)} data-testid="synthesis-limit" />
        </label>
        <label>
          n <input className="short" value={candidates} onChange={(event) => setCandidates(event.target.value)} />
        </label>
        <label>
          m <input className="short" value={contrast} onChange={(event) => setContrast(event.target.value)} data-testid="synthesis-contrast" />
        </label>
        <label>
          keep k <input className="short" value={keep} onChange={(event) => setKeep(event.target.value)} />
        </label>
        <label>
          Max new tokens <input className="short" placeholder="task default" value={maxNewTokens} onChange={(event) => setMaxNewTokens(event.target.value)} data-testid="synthesis-max-tokens" />
        </label>
        <label>
          Steering <input className="short" placeholder="off" value={steer} onChange={(event) => setSteer(event.target.value)} data-testid="synthesis-steer" />
        </label>
        <label title="Perplexity under the unsteered generator, bounded from the anchor set. Needs the generator's output head stored as F32, F16 or BF16.">
          <input type="checkbox" checked={coherence} onChange={(event) => setCoherence(event.target.checked)} /> coherence check
        </label>
        <button type="button" className="primary" onClick={() => void start()} disabled={!budgetValid} title={budgetValid ? undefined : "'Budget (features)' must be a whole number of at least 1"} data-testid="synthesis-start-button">
          Synthesize {plural(Math.min(chosen.length, budgetValid && limit.trim() !== '' ? Number(limit) : chosen.length), 'feature')}
        </button>
      </div>
      {error !== null ? <div className="error">{error}</div> : null}
    </section>
  );
}

function CoverageChart({ run }: { run: SynthesisRunView }) {
  const rows = run.report?.coverage ?? [];
  const data = rows.map((row) => ({ delta: `δ = ${row.threshold}`, seed: row.seedFac, combined: row.combinedFac }));
  return (
    <div className="charts-row">
      <table className="grid fac-chart" data-testid="synthesis-coverage">
        <thead>
          <tr>
            <th>δ</th>
            <th>FAC before (seed) → after (seed ∪ synthetic)</th>
            <th>missing features the synthetic set activates</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.threshold} data-testid="synthesis-coverage-row">
              <td>{row.threshold}</td>
              <td>
                <span data-testid="synthesis-fac">
                  {percent(row.seedFac)} → {percent(row.combinedFac)}
                </span>
              </td>
              <td>
                {row.missingActivated} of {row.missing} ({percent(row.missingShareActivated)})
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="chart" data-testid="synthesis-fac-chart">
        <div className="chart-title">FAC before and after, at each δ</div>
        <ResponsiveContainer width="100%" height={180}>
          <BarChart data={data} margin={{ top: 4, right: 8, bottom: 4, left: 0 }}>
            <CartesianGrid stroke={chartTheme.grid} vertical={false} />
            <XAxis dataKey="delta" tick={chartTheme.tick} />
            <YAxis domain={[0, 1]} tick={chartTheme.tick} width={44} tickFormatter={(value: number) => formatPercent(value, 0)} />
            <Tooltip {...chartTheme.tooltip} formatter={(value) => formatPercent(Number(value))} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            <Bar dataKey="seed" name="seed" fill={chartTheme.axis} isAnimationActive={false} />
            <Bar dataKey="combined" name="seed ∪ synthetic" fill={chartTheme.good} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </div>
  );
}

function Candidates({ run }: { run: SynthesisRunView }) {
  const candidates = useSynthesisStore((state) => state.candidates[run.id]) ?? [];
  const [open, setOpen] = useState<number | null>(null);
  const [showContrast, setShowContrast] = useState(false);
  const shown = candidates.filter((candidate) => showContrast || candidate.step === 2);
  return (
    <div>
      <div className="form-row">
        <h3 className="inline">Candidates ({shown.length})</h3>
        <label>
          <input type="checkbox" checked={showContrast} onChange={(event) => setShowContrast(event.target.checked)} /> show step-1 candidates (contrastive pairs)
        </label>
      </div>
      <div className="table-scroll">
      <table className="grid" data-testid="synthesis-candidates">
        <thead>
          <tr>
            <th>feature</th>
            <th>step</th>
            <th>steer</th>
            <th>outcome</th>
            <th>activation</th>
            <th>perplexity</th>
            <th>overlap</th>
            <th>text</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((candidate) => (
            <CandidateRow key={candidate.id} candidate={candidate} open={open === candidate.id} toggle={() => setOpen(open === candidate.id ? null : candidate.id)} />
          ))}
        </tbody>
      </table>
      </div>
    </div>
  );
}

function CandidateRow({ candidate, open, toggle }: { candidate: SynthesisCandidateView; open: boolean; toggle: () => void }) {
  const [editing, setEditing] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  const accepted = candidate.outcome === 'accepted' && candidate.sampleId !== null;
  async function save(): Promise<void> {
    try {
      const result = await api.call('synthesis.editSample', { sampleId: candidate.sampleId!, text: editing! });
      setFailed(false);
      setMessage(`Measured again: activation ${result.activation.toFixed(3)}. Saved.`);
      setEditing(null);
    } catch (caught) {
      setFailed(true);
      setMessage((caught as Error).message);
    }
  }
  async function drop(): Promise<void> {
    try {
      await api.call('synthesis.dropSample', { sampleId: candidate.sampleId! });
    } catch (caught) {
      setFailed(true);
      setMessage((caught as Error).message);
    }
  }
  return (
    <>
      <tr className={`candidate outcome-${candidate.outcome}`} onClick={toggle} data-testid="synthesis-candidate" data-outcome={candidate.outcome}>
        <td>{candidate.feature}</td>
        <td>{candidate.step}</td>
        <td>{candidate.steering}</td>
        <td title={candidate.detail ?? ''}>{candidate.outcome}</td>
        <td>{fixed(candidate.activation)}</td>
        <td>{fixed(candidate.perplexity, 1)}</td>
        <td>{candidate.overlap === null ? '—' : percent(candidate.overlap)}</td>
        <td className="candidate-text">{candidate.text.replace(/\s+/g, ' ').slice(0, 120)}</td>
      </tr>
      {open ? (
        <tr className="candidate-detail" data-testid="synthesis-candidate-detail">
          <td colSpan={8}>
            {candidate.detail !== null ? <p className="muted">{candidate.detail}</p> : null}
            {editing === null ? <pre className="sample-text">{candidate.text}</pre> : <textarea className="sample-edit" value={editing} onChange={(event) => setEditing(event.target.value)} data-testid="synthesis-edit-text" />}
            {accepted ? (
              <div className="form-row">
                {editing === null ? (
                  <button type="button" onClick={() => setEditing(candidate.text.split('\n\n')[0] ?? candidate.text)} data-testid="synthesis-edit">
                    Edit first turn
                  </button>
                ) : (
                  <button type="button" className="primary" onClick={() => void save()} data-testid="synthesis-save">
                    Measure and save
                  </button>
                )}
                <button type="button" onClick={() => void drop()} data-testid="synthesis-drop">
                  Drop
                </button>
              </div>
            ) : null}
            {message !== null ? (
              <div className={failed ? 'error' : 'muted'} data-testid="synthesis-edit-message">
                {message}
              </div>
            ) : null}
          </td>
        </tr>
      ) : null}
    </>
  );
}

function ExportPanel({ datasetId }: { datasetId: number }) {
  const [format, setFormat] = useState<ExportFormat>('auto');
  const [result, setResult] = useState<DatasetExportView | null>(null);
  const [error, setError] = useState<string | null>(null);
  async function run(): Promise<void> {
    setError(null);
    try {
      setResult(await api.call('datasets.export', { id: datasetId, format }));
    } catch (caught) {
      setError((caught as Error).message);
    }
  }
  return (
    <div className="form-row" data-testid="synthesis-export">
      <h3 className="inline">Export</h3>
      <select value={format} onChange={(event) => setFormat(event.target.value as ExportFormat)} data-testid="synthesis-export-format">
        {exportFormats.map((name) => (
          <option key={name}>{name}</option>
        ))}
      </select>
      <button type="button" onClick={() => void run()} data-testid="synthesis-export-button">
        Export with dataset card
      </button>
      {result !== null ? (
        <span className="muted" data-testid="synthesis-export-result">
          {result.samples} samples ({result.format}) → {result.files.data} · card {result.files.card}
        </span>
      ) : null}
      {error !== null ? <div className="error">{error}</div> : null}
    </div>
  );
}
