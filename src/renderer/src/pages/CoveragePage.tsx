import { useEffect, useState } from 'react';
import type { CoverageRunView } from '../../../shared/featureTypes.ts';
import { builtInTasks } from '../../../shared/interpretationTypes.ts';
import { api } from '../api/connection.ts';
import { FeatureSpans } from '../components/FeatureSpans.tsx';
import { JobProgress } from '../components/JobProgress.tsx';
import { useDatasetsStore } from '../stores/useDatasetsStore.ts';
import { useFeaturesStore } from '../stores/useFeaturesStore.ts';
import { useJobsStore } from '../stores/useJobsStore.ts';
import { useNavigationStore } from '../stores/useNavigationStore.ts';
import { useRegistryStore } from '../stores/useRegistryStore.ts';

function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? 'n/a' : `${(value * 100).toFixed(1)}%`;
}

function parseThresholds(text: string): number[] | null {
  const values = text.split(',').map((part) => Number(part.trim()));
  return values.length > 0 && values.every((value) => Number.isFinite(value) && value >= 0) ? values : null;
}

/** Pick model, SAE, anchor and seed; run; FAC per δ, covered vs missing, the missing features. */
export function CoveragePage() {
  const { models, saes } = useRegistryStore();
  const datasets = useDatasetsStore((state) => state.datasets).filter((dataset) => dataset.state === 'ready');
  const { runs, open } = useFeaturesStore();
  const go = useNavigationStore((state) => state.go);
  const jobs = useJobsStore((state) => state.jobs);
  const [model, setModel] = useState('');
  const [sae, setSae] = useState('');
  const [anchor, setAnchor] = useState('');
  const [seed, setSeed] = useState('');
  const [evalSet, setEvalSet] = useState('');
  const [thresholds, setThresholds] = useState('0, 1, 2');
  const [encode, setEncode] = useState<'topk' | 'dense-relu'>('topk');
  // F: every feature, or the features judged relevant to a task ('' = every feature)
  const [task, setTask] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [selectedRun, setSelectedRun] = useState<number | null>(null);

  // Sensible defaults once the registry is known: the first model and SAE, anchor/seed by role.
  useEffect(() => {
    if (model === '' && models[0] !== undefined) setModel(models[0].name);
    if (sae === '' && saes[0] !== undefined) setSae(saes[0].name);
    if (anchor === '') setAnchor(datasets.find((dataset) => dataset.role === 'anchor')?.name ?? '');
    if (seed === '') setSeed(datasets.find((dataset) => dataset.role === 'seed')?.name ?? '');
  }, [models, saes, datasets, model, sae, anchor, seed]);

  const active = Object.values(jobs).filter((job) => job.kind === 'coverage.measure' && (job.state === 'queued' || job.state === 'running' || job.state === 'failed'));
  const run: CoverageRunView | undefined = runs.find((candidate) => candidate.id === selectedRun) ?? runs[0];

  async function start(): Promise<void> {
    setError(null);
    const deltas = parseThresholds(thresholds);
    if (deltas === null) {
      setError('Thresholds: comma-separated numbers ≥ 0, e.g. 0, 1, 2.');
      return;
    }
    try {
      await api.call('coverage.run', { model, sae, anchor, seed, ...(evalSet !== '' ? { eval: evalSet } : {}), ...(task.trim() !== '' ? { task: task.trim() } : {}), thresholds: deltas, encode });
      setSelectedRun(null);
    } catch (caught) {
      setError((caught as Error).message);
    }
  }

  const select = (label: string, value: string, set: (value: string) => void, options: string[], testId: string, optional = false) => (
    <label>
      {label}
      <select value={value} onChange={(event) => set(event.target.value)} data-testid={testId}>
        {optional || value === '' ? <option value="">{optional ? '(none)' : '—'}</option> : null}
        {options.map((option) => (
          <option key={option}>{option}</option>
        ))}
      </select>
    </label>
  );

  return (
    <div className="page">
      <section className="panel">
        <h2>Measure coverage</h2>
        <div className="form-row">
          {select('Model', model, setModel, models.map((m) => m.name), 'coverage-model')}
          {select('SAE', sae, setSae, saes.map((s) => s.name), 'coverage-sae')}
        </div>
        <div className="form-row">
          {select('Anchor', anchor, setAnchor, datasets.map((d) => d.name), 'coverage-anchor')}
          {select('Seed', seed, setSeed, datasets.map((d) => d.name), 'coverage-seed')}
          {select('Evaluate', evalSet, setEvalSet, datasets.map((d) => d.name), 'coverage-eval', true)}
        </div>
        <div className="form-row">
          <label>
            Thresholds δ <input value={thresholds} onChange={(event) => setThresholds(event.target.value)} data-testid="coverage-thresholds" />
          </label>
          <label>
            Encode
            <select value={encode} onChange={(event) => setEncode(event.target.value as 'topk' | 'dense-relu')}>
              <option value="topk">topk (paper text)</option>
              <option value="dense-relu">dense-relu (released code)</option>
            </select>
          </label>
          <label>
            Features F
            <input list="coverage-tasks" value={task} onChange={(event) => setTask(event.target.value)} placeholder="all features" size={22} data-testid="coverage-task" />
            <datalist id="coverage-tasks">
              {builtInTasks.map((name) => (
                <option key={name} value={name} />
              ))}
            </datalist>
          </label>
          <button type="button" className="primary" disabled={!model || !sae || !anchor || !seed} onClick={() => void start()} data-testid="coverage-run">
            Run
          </button>
        </div>
        <p className="muted">The layer comes from the SAE (llama.cpp 0-based block index, l_out-L). Missing datasets are indexed first; a feature counts as activated when g &gt; δ. Leave F empty for every feature, or name a task (judged on the Features page) to count only the features relevant to it.</p>
        {error !== null ? <div className="error">{error}</div> : null}
        {active.map((job) => (
          <JobProgress key={job.id} job={job} />
        ))}
      </section>
      {run !== undefined ? (
        <section className="panel" data-testid="coverage-result">
          <div className="form-row">
            <h2 className="inline">
              {run.result.seed.dataset} against {run.result.anchor.dataset}
            </h2>
            <select value={run.id} onChange={(event) => setSelectedRun(Number(event.target.value))}>
              {runs.map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  run {candidate.id} · {candidate.result.seed.dataset} vs {candidate.result.anchor.dataset} · {new Date(candidate.createdAt).toLocaleString()}
                </option>
              ))}
            </select>
          </div>
          <p className="muted">
            {run.result.model} · {run.result.sae} · l_out-{run.result.layer} · {run.result.encode} · {run.result.featureCount.toLocaleString()} features in F{run.result.task !== undefined ? ` (judged relevant to ${run.result.task}; ${(run.result.unjudgedFeatures ?? 0).toLocaleString()} anchor-active features not judged yet)` : ''} · anchor {run.result.anchor.samples} samples, seed {run.result.seed.samples}
          </p>
          <table className="grid" data-testid="coverage-table">
            <thead>
              <tr>
                <th>δ</th>
                <th>anchor active |F(P)|</th>
                <th>seed active</th>
                <th>covered</th>
                <th>FAC</th>
                <th>FAC freq</th>
                <th>FAC magnitude</th>
                {run.result.eval !== undefined ? <th>missing covered by {run.result.eval.dataset}</th> : null}
                <th>covered vs missing</th>
              </tr>
            </thead>
            <tbody>
              {run.result.results.map((row) => (
                <tr key={row.threshold} data-testid="coverage-row">
                  <td>{row.threshold}</td>
                  <td>{row.anchorActive}</td>
                  <td>{row.seedActive}</td>
                  <td>{row.covered}</td>
                  <td data-testid="coverage-fac">{percent(row.fac)}</td>
                  <td>{percent(row.facFreq)}</td>
                  <td>{percent(row.facMagnitude)}</td>
                  {run.result.eval !== undefined ? (
                    <td>
                      {row.missingActivatedByEval ?? 0} of {row.missing.length} ({percent(row.missingShareActivatedByEval)})
                    </td>
                  ) : null}
                  <td>
                    <div className="coverage-bar" title={`${row.covered} covered, ${row.missing.length} missing`}>
                      <div className="covered" style={{ width: `${row.anchorActive ? (100 * row.covered) / row.anchorActive : 0}%` }} />
                    </div>
                    <span className="muted">
                      {row.covered} covered · {row.missing.length} missing
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Top missing features (δ = {run.result.results[0]?.threshold})</h3>
          {run.result.topMissing.length === 0 ? <p className="muted">None: the seed activates every feature the anchor does.</p> : null}
          {run.result.topMissing.map((missing) => (
            <div key={missing.feature} className="missing-feature" data-testid="missing-feature">
              <button
                type="button"
                className="link"
                onClick={() => {
                  open(run.result.spaceId, missing.feature);
                  go('Features');
                }}
              >
                feature {missing.feature}
              </button>
              <span className="muted">
                {' '}
                in {missing.anchorSamples} anchor samples · mean {missing.anchorMean.toFixed(3)} · max {missing.anchorMax.toFixed(3)}
              </span>
              <FeatureSpans spans={missing.spans} />
            </div>
          ))}
          <details>
            <summary>All {run.result.results[0]?.missing.length ?? 0} missing feature ids</summary>
            <p className="ids">{run.result.results[0]?.missing.join(', ')}</p>
          </details>
        </section>
      ) : (
        <section className="panel">
          <p className="muted">No coverage runs yet.</p>
        </section>
      )}
    </div>
  );
}
