import { useEffect, useState } from 'react';
import type { CoverageCheck, CoverageExportFormat, CoverageRunDetail, CoverageScatter } from '../../../shared/coverageTypes.ts';
import { formatCount, formatPercent, plural } from '../../../shared/formatNumber.ts';
import { builtInTasks } from '../../../shared/interpretationTypes.ts';
import { api } from '../api/connection.ts';
import { JobProgress } from '../components/JobProgress.tsx';
import { ActivationScatterChart, FacByThresholdChart } from '../components/coverage/CoverageCharts.tsx';
import { CoverageCompare } from '../components/coverage/CoverageCompare.tsx';
import { CoverageMissingList } from '../components/coverage/CoverageMissingList.tsx';
import { CoverageTerms, termTitle } from '../components/coverage/CoverageTerms.tsx';
import { guiErrorText } from '../guiErrorText.ts';
import { usePersistentState } from '../hooks/usePersistentState.ts';
import { useDatasetsStore } from '../stores/useDatasetsStore.ts';
import { useFeaturesStore } from '../stores/useFeaturesStore.ts';
import { useJobsStore } from '../stores/useJobsStore.ts';
import { useNavigationStore } from '../stores/useNavigationStore.ts';
import { useRegistryStore } from '../stores/useRegistryStore.ts';

function parseThresholds(text: string): number[] | null {
  const values = text.split(',').map((part) => Number(part.trim()));
  return values.length > 0 && values.every((value) => Number.isFinite(value) && value >= 0) ? values : null;
}

const positiveId = (text: string | undefined): number | null => (text !== undefined && /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : null);

/** The form's label for each coverage.run parameter (errors name the field to change). */
const coverageControls: Record<string, string> = { model: 'Model', sae: 'SAE', anchor: 'Anchor', seed: 'Seed', eval: 'Evaluate', thresholds: 'Thresholds δ', encode: 'Encode', task: 'Features F' };

/** Saves a file the engine wrote (CSV or JSON) through the browser's download. */
function download(fileName: string, mediaType: string, content: string): void {
  const url = URL.createObjectURL(new Blob([content], { type: mediaType }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * Pick model, SAE, anchor and seed; run; FAC per δ with every term explained, FAC against δ, the
 * anchor-vs-seed activation scatter, the missing features at any δ of the run, comparison with
 * another run, export and delete. The open run, δ and compared run live in the URL
 * (`#/Coverage?run=3&delta=1&compare=2`); the form lives in localStorage.
 */
export function CoveragePage() {
  const { models, saes } = useRegistryStore();
  const datasets = useDatasetsStore((state) => state.datasets).filter((dataset) => dataset.state === 'ready');
  const runs = useFeaturesStore((state) => state.runs);
  const openFeature = useFeaturesStore((state) => state.open);
  const params = useNavigationStore((state) => state.params);
  const setParams = useNavigationStore((state) => state.setParams);
  const replaceParams = useNavigationStore((state) => state.replaceParams);
  const jobs = useJobsStore((state) => state.jobs);
  const [model, setModel] = usePersistentState('coverage.model', '');
  const [sae, setSae] = usePersistentState('coverage.sae', '');
  const [anchor, setAnchor] = usePersistentState('coverage.anchor', '');
  const [seed, setSeed] = usePersistentState('coverage.seed', '');
  const [evalSet, setEvalSet] = usePersistentState('coverage.eval', '');
  const [thresholds, setThresholds] = usePersistentState('coverage.thresholds', '0, 1, 2');
  const [encode, setEncode] = usePersistentState<'topk' | 'dense-relu'>('coverage.encode', 'topk');
  // F: every feature, or the features judged relevant to a task ('' = every feature)
  const [task, setTask] = usePersistentState('coverage.task', '');
  const [error, setError] = useState<string | null>(null);
  const [check, setCheck] = useState<CoverageCheck | null>(null);
  const [detail, setDetail] = useState<CoverageRunDetail | null>(null);
  const [detailError, setDetailError] = useState<string | null>(null);
  const [scatter, setScatter] = useState<CoverageScatter | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  // after Run: the newest run id then; the URL is not pinned to a run until a newer one is saved
  const [pinAbove, setPinAbove] = useState<number | null>(null);

  // Defaults once the registry is known (and when a remembered name no longer exists): the first model and SAE, anchor/seed by role.
  const datasetNames = datasets.map((dataset) => dataset.name);
  useEffect(() => {
    if (models.length > 0 && !models.some((m) => m.name === model)) setModel(models[0]!.name);
    if (saes.length > 0 && !saes.some((s) => s.name === sae)) setSae(saes[0]!.name);
    if (datasets.length === 0) return;
    if (!datasetNames.includes(anchor)) setAnchor(datasets.find((dataset) => dataset.role === 'anchor')?.name ?? '');
    if (!datasetNames.includes(seed)) setSeed(datasets.find((dataset) => dataset.role === 'seed')?.name ?? '');
    if (evalSet !== '' && !datasetNames.includes(evalSet)) setEvalSet('');
  }, [models, saes, datasets.length, datasetNames.join('\n'), model, sae, anchor, seed, evalSet]);

  // What the engine will say about these datasets (roles that do not fit, anchor = seed), before running.
  useEffect(() => {
    setCheck(null);
    if (anchor === '' || seed === '') return;
    let current = true;
    api
      .call('coverage.check', { anchor, seed, ...(evalSet !== '' ? { eval: evalSet } : {}) })
      .then((result) => current && setCheck(result))
      .catch(() => current && setCheck(null));
    return () => {
      current = false;
    };
  }, [anchor, seed, evalSet]);

  const runId = positiveId(params['run']) ?? runs[0]?.id ?? null;
  useEffect(() => {
    setDetailError(null);
    setConfirmDelete(false);
    setActionError(null);
    if (runId === null) {
      setDetail(null);
      return;
    }
    let current = true;
    api
      .call('coverage.get', { id: runId })
      .then((result) => current && setDetail(result))
      .catch((caught: unknown) => {
        if (!current) return;
        setDetail(null);
        setDetailError((caught as Error).message);
      });
    return () => {
      current = false;
    };
  }, [runId, runs]);
  const run = detail !== null && detail.id === runId ? detail : null;
  const wantedDelta = params['delta'] !== undefined ? Number(params['delta']) : NaN;
  const delta = run === null ? null : (run.result.results.find((row) => row.threshold === wantedDelta) ?? run.result.results[0])?.threshold ?? null;
  const compareId = positiveId(params['compare']);
  // a δ the URL names that this run lacks: said beside the δ picker, never silently replaced
  const missingDelta = run !== null && params['delta'] !== undefined && delta !== wantedDelta ? params['delta'] : null;

  // The run shown when the URL names none (the newest) goes into the URL, replacing the entry
  // (no new Back step), so a copied link keeps showing this run after newer ones are made.
  useEffect(() => {
    if (run === null || params['run'] !== undefined || (pinAbove !== null && run.id <= pinAbove)) return;
    setPinAbove(null);
    replaceParams({ ...params, run: String(run.id) });
  }, [run, params, pinAbove]);

  useEffect(() => {
    setScatter(null);
    if (run === null || delta === null) return;
    let current = true;
    api
      .call('coverage.scatter', { id: run.id, threshold: delta })
      .then((result) => current && setScatter(result))
      .catch(() => current && setScatter(null));
    return () => {
      current = false;
    };
  }, [run, delta]);

  const active = Object.values(jobs).filter((job) => job.kind === 'coverage.measure' && (job.state === 'queued' || job.state === 'running' || job.state === 'failed'));
  const updateParams = (next: Record<string, string | null>): void => {
    const merged: Record<string, string> = { ...params };
    for (const [key, value] of Object.entries(next)) {
      if (value === null) delete merged[key];
      else merged[key] = value;
    }
    setParams(merged);
  };
  const open = (feature: number): void => {
    if (run !== null) openFeature(run.result.spaceId, feature);
  };

  async function start(): Promise<void> {
    setError(null);
    const deltas = parseThresholds(thresholds);
    if (deltas === null) {
      setError('Thresholds δ: comma-separated numbers ≥ 0, e.g. 0, 1, 2.');
      return;
    }
    try {
      await api.call('coverage.run', { model, sae, anchor, seed, ...(evalSet !== '' ? { eval: evalSet } : {}), ...(task.trim() !== '' ? { task: task.trim() } : {}), thresholds: deltas, encode });
      // show the newest run once it is saved (and name it in the URL then)
      setPinAbove(runs[0]?.id ?? 0);
      setParams({});
    } catch (caught) {
      setError(guiErrorText(caught, { controls: coverageControls }));
    }
  }

  async function exportRun(format: CoverageExportFormat): Promise<void> {
    if (run === null) return;
    setActionError(null);
    try {
      const file = await api.call('coverage.export', { id: run.id, format });
      download(file.fileName, file.mediaType, file.content);
    } catch (caught) {
      setActionError((caught as Error).message);
    }
  }

  async function deleteRun(): Promise<void> {
    if (run === null) return;
    setActionError(null);
    try {
      await api.call('coverage.delete', { id: run.id });
      setConfirmDelete(false);
      // the newest remaining run (named in the URL), or none
      const next = runs.find((candidate) => candidate.id !== run.id);
      setParams(next !== undefined ? { run: String(next.id) } : {});
    } catch (caught) {
      setActionError((caught as Error).message);
    }
  }

  const select = (label: string, title: string, value: string, set: (value: string) => void, options: string[], testId: string, optional = false) => (
    <label title={title}>
      {label}
      <select value={value} onChange={(event) => set(event.target.value)} data-testid={testId}>
        {optional || value === '' ? <option value="">{optional ? '(none)' : '—'}</option> : null}
        {options.map((option) => (
          <option key={option}>{option}</option>
        ))}
      </select>
    </label>
  );
  const roleOf = (name: string): string => datasets.find((dataset) => dataset.name === name)?.role ?? '';
  const withRoles = datasets.map((dataset) => dataset.name);

  return (
    <div className="page coverage-page">
      <section className="panel">
        <h2>Measure coverage</h2>
        <div className="form-row">
          {select('Model', 'The instruct model whose activations are read.', model, setModel, models.map((m) => m.name), 'coverage-model')}
          {select('SAE', `The sparse autoencoder; its layer is used. ${termTitle('layer')}`, sae, setSae, saes.map((s) => s.name), 'coverage-sae')}
        </div>
        <div className="form-row">
          {select('Anchor', termTitle('roles'), anchor, setAnchor, withRoles, 'coverage-anchor')}
          {select('Seed', termTitle('roles'), seed, setSeed, withRoles, 'coverage-seed')}
          {select('Evaluate', termTitle('roles'), evalSet, setEvalSet, withRoles, 'coverage-eval', true)}
          <span className="muted">
            {[anchor && `anchor: ${roleOf(anchor)} set`, seed && `seed: ${roleOf(seed)} set`].filter(Boolean).join(' · ')}
          </span>
        </div>
        <div className="form-row">
          <label title={termTitle('delta')}>
            Thresholds δ <input value={thresholds} onChange={(event) => setThresholds(event.target.value)} data-testid="coverage-thresholds" />
          </label>
          <label title={termTitle('encode')}>
            Encode
            <select value={encode} onChange={(event) => setEncode(event.target.value as 'topk' | 'dense-relu')} data-testid="coverage-encode">
              <option value="topk">topk (paper text)</option>
              <option value="dense-relu">dense-relu (released code)</option>
            </select>
          </label>
          <label title={termTitle('F')}>
            Features F
            <input list="coverage-tasks" value={task} onChange={(event) => setTask(event.target.value)} placeholder="all features" size={22} data-testid="coverage-task" />
            <datalist id="coverage-tasks">
              {builtInTasks.map((name) => (
                <option key={name} value={name} />
              ))}
            </datalist>
          </label>
          <button type="button" className="primary" disabled={!model || !sae || !anchor || !seed || (check?.error ?? null) !== null} onClick={() => void start()} data-testid="coverage-run">
            Run
          </button>
        </div>
        {check?.error != null ? (
          <div className="error" data-testid="coverage-check-error">
            {check.error.message}
          </div>
        ) : null}
        {check?.warnings.map((warning) => (
          <div key={warning.code} className="warning" data-testid="coverage-warning">
            {warning.message}
          </div>
        ))}
        <p className="help">
          The layer comes from the SAE (l_out-L, blocks counted from 0). Datasets not indexed yet for this model and SAE are indexed first. A feature counts as activated by a sample when g &gt; δ. Leave F empty for every feature, or name a task judged on the Features page to count only the features relevant to it.
        </p>
        <CoverageTerms />
        {error !== null ? (
          <div className="error" data-testid="coverage-run-form-error">
            {error}
          </div>
        ) : null}
        {active.map((job) => (
          <JobProgress key={job.id} job={job} />
        ))}
      </section>
      {detailError !== null ? (
        <section className="panel">
          <div className="error" data-testid="coverage-run-error">
            {detailError}
          </div>
          <button type="button" className="link" onClick={() => setParams({})}>
            Show the newest run
          </button>
        </section>
      ) : null}
      {run !== null ? (
        <section className="panel" data-testid="coverage-result">
          <div className="form-row">
            <h2 className="inline">
              {run.result.seed.dataset} against {run.result.anchor.dataset}
            </h2>
            <select aria-label="Coverage run" value={run.id} onChange={(event) => setParams({ run: event.target.value })} data-testid="coverage-run-select">
              {runs.some((candidate) => candidate.id === run.id) ? null : <option value={run.id}>run {run.id}</option>}
              {runs.map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  run {candidate.id} · {candidate.result.seed.dataset} vs {candidate.result.anchor.dataset} · {new Date(candidate.createdAt).toLocaleString('en-US')}
                </option>
              ))}
            </select>
            <span className="toolbar">
              <button type="button" onClick={() => void exportRun('csv')} data-testid="coverage-export-csv" title="One row per δ: counts, FAC and its variants, missing feature ids">
                Export CSV
              </button>
              <button type="button" onClick={() => void exportRun('json')} data-testid="coverage-export-json" title="The run as saved: request and full result">
                Export JSON
              </button>
              {confirmDelete ? (
                <span className="confirm" data-testid="coverage-delete-confirm">
                  Delete run {run.id}? Its indexes and datasets stay.{' '}
                  <button type="button" className="danger" onClick={() => void deleteRun()} data-testid="coverage-delete-yes">
                    Delete
                  </button>{' '}
                  <button type="button" onClick={() => setConfirmDelete(false)}>
                    Keep
                  </button>
                </span>
              ) : (
                <button type="button" onClick={() => setConfirmDelete(true)} data-testid="coverage-delete">
                  Delete…
                </button>
              )}
            </span>
          </div>
          {actionError !== null ? <div className="error">{actionError}</div> : null}
          <p className="muted" data-testid="coverage-run-meta">
            run {run.id} · {run.result.model} · {run.result.sae} · <span title={termTitle('layer')} className="term">l_out-{run.result.layer}</span> · <span title={termTitle('encode')} className="term">{run.result.encode}</span> ·{' '}
            <span title={termTitle('F')} className="term">
              {plural(run.result.featureCount, 'feature')} in F
            </span>
            {run.result.task !== undefined ? ` (judged relevant to ${run.result.task}; ${plural(run.result.unjudgedFeatures ?? 0, 'anchor-active feature')} not judged yet)` : ''} · anchor {plural(run.result.anchor.samples, 'sample')}, seed {formatCount(run.result.seed.samples)}
            {run.result.eval !== undefined ? `, evaluated ${run.result.eval.dataset} ${formatCount(run.result.eval.samples)}` : ''}
          </p>
          {(run.result.warnings ?? []).map((warning) => (
            <div key={warning.code} className="warning" data-testid="coverage-run-warning">
              {warning.message}
            </div>
          ))}
          <div className="table-scroll">
          <table className="grid static" data-testid="coverage-table">
            <thead>
              <tr>
                <th title={termTitle('delta')}>δ</th>
                <th title={termTitle('FP')}>anchor active |F(P)|</th>
                <th title={termTitle('Fseed')}>seed active</th>
                <th title={termTitle('covered')}>covered</th>
                <th title={termTitle('fac')}>FAC</th>
                <th title={termTitle('facFreq')}>FAC freq</th>
                <th title={termTitle('facMagnitude')}>FAC magnitude</th>
                {run.result.eval !== undefined ? <th title={termTitle('evalShare')}>missing covered by {run.result.eval.dataset}</th> : null}
                <th title={termTitle('missing')}>covered vs missing</th>
              </tr>
            </thead>
            <tbody>
              {run.result.results.map((row) => (
                <tr key={row.threshold} data-testid="coverage-row" className={row.threshold === delta ? 'selected' : undefined}>
                  <td>{row.threshold}</td>
                  <td>{formatCount(row.anchorActive)}</td>
                  <td>{formatCount(row.seedActive)}</td>
                  <td>{formatCount(row.covered)}</td>
                  <td data-testid="coverage-fac">{formatPercent(row.fac)}</td>
                  <td>{formatPercent(row.facFreq)}</td>
                  <td>{formatPercent(row.facMagnitude)}</td>
                  {run.result.eval !== undefined ? (
                    <td>
                      {formatCount(row.missingActivatedByEval ?? 0)} of {formatCount(row.missing.length)} ({formatPercent(row.missingShareActivatedByEval)})
                    </td>
                  ) : null}
                  <td>
                    <div className="coverage-bar" title={`${row.covered} covered, ${row.missing.length} missing`}>
                      <div className="covered" style={{ width: `${row.anchorActive ? (100 * row.covered) / row.anchorActive : 0}%` }} />
                    </div>
                    <span className="muted">
                      <span className="nowrap">{formatCount(row.covered)} covered</span> · <span className="nowrap">{formatCount(row.missing.length)} missing</span>
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          </div>
          <div className="form-row coverage-delta-row">
            <label title={termTitle('delta')}>
              Features at δ
              <select value={delta ?? ''} onChange={(event) => updateParams({ delta: event.target.value })} data-testid="coverage-delta">
                {run.result.results.map((row) => (
                  <option key={row.threshold} value={row.threshold}>
                    {row.threshold} ({formatCount(row.missing.length)} missing)
                  </option>
                ))}
              </select>
            </label>
            <span className="help">The scatter and the missing features below use this δ; every δ of the run can be picked.</span>
          </div>
          {missingDelta !== null ? (
            <div className="warning" data-testid="coverage-delta-note">
              run {run.id} has no δ = {missingDelta}; showing δ = {delta}
            </div>
          ) : null}
          <div className="charts-row">
            <FacByThresholdChart results={run.result.results} evalName={run.result.eval?.dataset} />
            {scatter !== null && scatter.runId === run.id ? <ActivationScatterChart scatter={scatter} onOpen={open} /> : <div className="chart muted">Loading the scatter…</div>}
          </div>
          <h3 title={termTitle('missing')}>Missing features at δ = {delta}</h3>
          {delta !== null ? <CoverageMissingList runId={run.id} spaceId={run.result.spaceId} anchorName={run.result.anchor.dataset} threshold={delta} missingIds={run.result.results.find((row) => row.threshold === delta)?.missing ?? []} onOpen={open} /> : null}
          <h3>Compare with another run</h3>
          <CoverageCompare runId={run.id} otherId={compareId !== run.id ? compareId : null} runs={runs} onPick={(id) => updateParams({ compare: id === null ? null : String(id) })} onOpen={open} />
        </section>
      ) : detailError === null ? (
        <section className="panel">
          <p className="muted">No coverage runs yet.</p>
        </section>
      ) : null}
    </div>
  );
}
