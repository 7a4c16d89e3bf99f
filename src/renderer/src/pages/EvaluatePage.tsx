import { useEffect, useState } from 'react';
import type { DiversityReport, ProbeReport, SteeringEvaluation, SteeringVectorResult } from '../../../shared/evaluateTypes.ts';
import type { JobSnapshot } from '../../../shared/jobTypes.ts';
import { renderReportBody, renderReportHtml } from '../../../shared/renderReportHtml.ts';
import { api } from '../api/connection.ts';
import { JobProgress } from '../components/JobProgress.tsx';
import { useDatasetsStore } from '../stores/useDatasetsStore.ts';
import { useJobsStore } from '../stores/useJobsStore.ts';
import { useRegistryStore } from '../stores/useRegistryStore.ts';

/** The newest job of a kind, and the newest one of that kind that finished with a result. */
function latest(jobs: Record<string, JobSnapshot>, kind: string): { current: JobSnapshot | undefined; done: JobSnapshot | undefined } {
  const ofKind = Object.values(jobs)
    .filter((job) => job.kind === kind)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return { current: ofKind[0], done: ofKind.find((job) => job.state === 'done' && job.result !== null) };
}

const numbers = (text: string): number[] | null => {
  const values = text.split(',').map((part) => Number(part.trim()));
  return values.length > 0 && values.every((value) => Number.isFinite(value)) ? values : null;
};

const showSpread = (value: { mean: number; std: number } | null): string => (value === null ? '—' : `${value.mean.toFixed(3)} ± ${value.std.toFixed(3)}`);

/** Robust accuracy against the steering multiplier, as a small line chart. */
function SteeringCurve({ result }: { result: SteeringEvaluation }) {
  const width = 360;
  const height = 180;
  const xs = result.multipliers.map((entry) => entry.multiplier);
  const low = Math.min(...xs);
  const high = Math.max(...xs);
  const x = (m: number): number => 40 + ((m - low) / Math.max(1e-9, high - low)) * (width - 60);
  const y = (v: number): number => height - 30 - v * (height - 50);
  const points = result.multipliers.map((entry) => `${x(entry.multiplier).toFixed(1)},${y(entry.robustAccuracy).toFixed(1)}`).join(' ');
  return (
    <svg width={width} height={height} role="img" aria-label="robust accuracy against multiplier" data-testid="steering-curve">
      {[0, 0.5, 1].map((v) => (
        <g key={v}>
          <line x1={40} x2={width - 20} y1={y(v)} y2={y(v)} stroke="#eee" />
          <text x={34} y={y(v) + 3} fontSize={10} textAnchor="end">
            {v}
          </text>
        </g>
      ))}
      <polyline points={points} fill="none" stroke="#3b5bdb" strokeWidth={2} />
      {result.multipliers.map((entry) => (
        <g key={entry.multiplier}>
          <circle cx={x(entry.multiplier)} cy={y(entry.robustAccuracy)} r={3} fill="#3b5bdb" />
          <text x={x(entry.multiplier)} y={height - 12} fontSize={10} textAnchor="middle">
            {entry.multiplier}
          </text>
        </g>
      ))}
    </svg>
  );
}

/** Diversity report, head-only probes and steering, each started as a job; results from the newest finished job. */
export function EvaluatePage() {
  const { models, saes } = useRegistryStore();
  const datasets = useDatasetsStore((state) => state.datasets).filter((dataset) => dataset.state === 'ready');
  const jobs = useJobsStore((state) => state.jobs);
  const [model, setModel] = useState('');
  const [sae, setSae] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [thresholds, setThresholds] = useState('0, 1, 2');
  const [probeKind, setProbeKind] = useState<'classify' | 'reward'>('classify');
  const [trainSets, setTrainSets] = useState('');
  const [evalSet, setEvalSet] = useState('');
  const [caaSet, setCaaSet] = useState('');
  const [layer, setLayer] = useState('1');
  const [vectorPath, setVectorPath] = useState('');
  const [multipliers, setMultipliers] = useState('-1, -0.5, 0, 0.5, 1');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (model === '' && models[0] !== undefined) setModel(models[0].name);
    if (sae === '' && saes[0] !== undefined) setSae(saes[0].name);
  }, [models, saes, model, sae]);

  const report = latest(jobs, 'evaluate.report');
  const probe = latest(jobs, 'evaluate.probe');
  const vector = latest(jobs, 'evaluate.steerVector');
  const steering = latest(jobs, 'evaluate.steerEval');
  const reportResult = report.done?.result as DiversityReport | undefined;
  const probeResult = probe.done?.result as ProbeReport | undefined;
  const vectorResult = vector.done?.result as SteeringVectorResult | undefined;
  const steeringResult = steering.done?.result as SteeringEvaluation | undefined;

  useEffect(() => {
    if (vectorResult !== undefined && vectorPath === '') setVectorPath(vectorResult.out);
  }, [vectorResult, vectorPath]);

  async function start(work: () => Promise<unknown>): Promise<void> {
    setError(null);
    try {
      await work();
    } catch (caught) {
      setError((caught as Error).message);
    }
  }

  function downloadReport(): void {
    if (reportResult === undefined) return;
    const url = URL.createObjectURL(new Blob([renderReportHtml(reportResult)], { type: 'text/html' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'facet-diversity-report.html';
    link.click();
    URL.revokeObjectURL(url);
  }

  const modelSelect = (
    <label>
      Model
      <select value={model} onChange={(event) => setModel(event.target.value)} data-testid="evaluate-model">
        {models.map((entry) => (
          <option key={entry.name}>{entry.name}</option>
        ))}
      </select>
    </label>
  );

  return (
    <div className="page">
      <section className="panel">
        <h2>Evaluate</h2>
        <p className="muted">Does the data help? Compare datasets on FAC and text/embedding diversity, train head-only probes on a frozen model, and measure steering, before spending a GPU-day on fine-tuning.</p>
        {error !== null ? (
          <div className="error" data-testid="evaluate-error">
            {error}
          </div>
        ) : null}
      </section>

      <section className="panel" data-testid="report-panel">
        <h3>Diversity report</h3>
        <div className="form-row">
          {modelSelect}
          <label>
            SAE
            <select value={sae} onChange={(event) => setSae(event.target.value)} data-testid="evaluate-sae">
              {saes.map((entry) => (
                <option key={entry.name}>{entry.name}</option>
              ))}
            </select>
          </label>
          <label>
            δ
            <input value={thresholds} onChange={(event) => setThresholds(event.target.value)} size={10} data-testid="evaluate-thresholds" />
          </label>
        </div>
        <div className="form-row" data-testid="evaluate-datasets">
          {datasets.map((dataset) => (
            <label key={dataset.id}>
              <input type="checkbox" checked={chosen.includes(dataset.name)} onChange={(event) => setChosen(event.target.checked ? [...chosen, dataset.name] : chosen.filter((name) => name !== dataset.name))} /> {dataset.name} <span className="muted">({dataset.role})</span>
            </label>
          ))}
        </div>
        <div className="form-row">
          <button
            type="button"
            data-testid="report-start"
            disabled={chosen.length === 0}
            onClick={() =>
              void start(async () => {
                const deltas = numbers(thresholds);
                if (deltas === null || deltas.some((value) => value < 0)) throw new Error('δ: comma-separated numbers ≥ 0, e.g. 0, 1, 2.');
                await api.call('evaluate.report', { model, sae, datasets: chosen, thresholds: deltas });
              })
            }
          >
            Make the report
          </button>
          {reportResult !== undefined ? (
            <button type="button" onClick={downloadReport} data-testid="report-download">
              Download as one HTML file
            </button>
          ) : null}
        </div>
        {report.current !== undefined && report.current.state !== 'done' ? <JobProgress job={report.current} /> : null}
        {reportResult !== undefined ? <div className="report" data-testid="report-view" dangerouslySetInnerHTML={{ __html: renderReportBody(reportResult) }} /> : null}
      </section>

      <section className="panel" data-testid="probe-panel">
        <h3>Head-only probe</h3>
        <p className="muted">A linear head on the last token's final hidden state of the frozen model. Separate training configurations by “;” and join datasets with “,” (e.g. seed; seed, synthetic) to compare them side by side; three seeds each.</p>
        <div className="form-row">
          {modelSelect}
          <label>
            Probe
            <select value={probeKind} onChange={(event) => setProbeKind(event.target.value as 'classify' | 'reward')} data-testid="probe-kind">
              <option value="classify">classify (0/1 labels)</option>
              <option value="reward">reward (preference pairs)</option>
            </select>
          </label>
          <label>
            Training sets
            <input value={trainSets} onChange={(event) => setTrainSets(event.target.value)} size={24} placeholder="seed; seed, synthetic" data-testid="probe-train" />
          </label>
          <label>
            Eval set
            <select value={evalSet} onChange={(event) => setEvalSet(event.target.value)} data-testid="probe-eval">
              <option value="">—</option>
              {datasets.map((dataset) => (
                <option key={dataset.id}>{dataset.name}</option>
              ))}
            </select>
          </label>
          <button
            type="button"
            data-testid="probe-start"
            onClick={() =>
              void start(async () => {
                const train = trainSets
                  .split(';')
                  .map((set) => set.split(',').map((name) => name.trim()).filter((name) => name !== ''))
                  .filter((set) => set.length > 0);
                if (train.length === 0 || evalSet === '') throw new Error('Give at least one training set and an eval set.');
                await api.call('evaluate.probe', { kind: probeKind, model, train, eval: evalSet });
              })
            }
          >
            Train and evaluate
          </button>
        </div>
        {probe.current !== undefined && probe.current.state !== 'done' ? <JobProgress job={probe.current} /> : null}
        {probeResult !== undefined ? (
          <table className="grid" data-testid="probe-results">
            <thead>
              <tr>
                <th>training set</th>
                <th>samples</th>
                {probeResult.kind === 'classify' ? (
                  <>
                    <th>AUPRC</th>
                    <th>AUROC</th>
                  </>
                ) : null}
                <th>{probeResult.kind === 'classify' ? 'accuracy' : 'pairwise accuracy'}</th>
              </tr>
            </thead>
            <tbody>
              {probeResult.runs.map((run) => (
                <tr key={run.train.join('+')}>
                  <td>{run.train.join(' + ')}</td>
                  <td>{run.trainSamples}</td>
                  {probeResult.kind === 'classify' ? (
                    <>
                      <td>{showSpread(run.auprc)}</td>
                      <td>{showSpread(run.auroc)}</td>
                    </>
                  ) : null}
                  <td>{showSpread(run.accuracy)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>

      <section className="panel" data-testid="steering-panel">
        <h3>Steering</h3>
        <p className="muted">A CAA vector from A/B items, then robust accuracy (right in both option orders) per multiplier. Steering Control Rate = robust accuracy at +1 minus at −1.</p>
        <div className="form-row">
          {modelSelect}
          <label>
            A/B items
            <select value={caaSet} onChange={(event) => setCaaSet(event.target.value)} data-testid="steer-dataset">
              <option value="">—</option>
              {datasets.map((dataset) => (
                <option key={dataset.id}>{dataset.name}</option>
              ))}
            </select>
          </label>
          <label>
            Layer (l_out, ≥ 1)
            <input value={layer} onChange={(event) => setLayer(event.target.value)} size={4} data-testid="steer-layer" />
          </label>
          <button
            type="button"
            data-testid="steer-vector-start"
            onClick={() =>
              void start(async () => {
                if (caaSet === '') throw new Error('Pick a dataset of A/B items.');
                const info = await api.call('system.info', {});
                await api.call('evaluate.steerVector', { model, dataset: caaSet, layer: Number(layer), out: `${info.home}/vectors/${caaSet}-l${layer}.npy` });
              })
            }
          >
            Build vector
          </button>
        </div>
        {vector.current !== undefined && vector.current.state !== 'done' ? <JobProgress job={vector.current} /> : null}
        {vectorResult !== undefined ? (
          <p className="muted" data-testid="steer-vector-result">
            Vector from {vectorResult.items} items at l_out-{vectorResult.layer} (norm {vectorResult.norm.toFixed(3)}): {vectorResult.out}
          </p>
        ) : null}
        <div className="form-row">
          <label>
            Vector file
            <input value={vectorPath} onChange={(event) => setVectorPath(event.target.value)} size={40} data-testid="steer-vector-path" />
          </label>
          <label>
            Multipliers
            <input value={multipliers} onChange={(event) => setMultipliers(event.target.value)} size={18} data-testid="steer-multipliers" />
          </label>
          <button
            type="button"
            data-testid="steer-eval-start"
            onClick={() =>
              void start(async () => {
                const values = numbers(multipliers);
                if (values === null || caaSet === '' || vectorPath === '') throw new Error('Pick the A/B items, a vector file and multipliers.');
                await api.call('evaluate.steerEval', { model, vector: vectorPath, dataset: caaSet, multipliers: values });
              })
            }
          >
            Evaluate steering
          </button>
        </div>
        {steering.current !== undefined && steering.current.state !== 'done' ? <JobProgress job={steering.current} /> : null}
        {steeringResult !== undefined ? (
          <div data-testid="steering-results">
            <SteeringCurve result={steeringResult} />
            <p>
              Steering Control Rate: <b data-testid="steering-control-rate">{steeringResult.steeringControlRate === null ? 'needs multipliers 1 and −1' : steeringResult.steeringControlRate.toFixed(3)}</b> ({steeringResult.items} items of {steeringResult.dataset})
            </p>
          </div>
        ) : null}
      </section>
    </div>
  );
}
