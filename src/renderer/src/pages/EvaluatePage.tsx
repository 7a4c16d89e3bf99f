import { useEffect, useState, type ReactNode } from 'react';
import type { DiversityReport, ProbeReport, SaeDriftReport, SteeringEvaluation, SteeringVectorResult } from '../../../shared/evaluateTypes.ts';
import { formatCount, formatDecimal, plural } from '../../../shared/formatNumber.ts';
import type { JobSnapshot } from '../../../shared/jobTypes.ts';
import { renderReportHtml } from '../../../shared/renderReportHtml.ts';
import { plainBaselineSource, type SynthesisRunView } from '../../../shared/synthesisTypes.ts';
import { api } from '../api/connection.ts';
import { guiErrorText } from '../guiErrorText.ts';
import { DiversityReportView } from '../components/evaluate/DiversityReportView.tsx';
import { DriftTable } from '../components/evaluate/DriftTable.tsx';
import { ProbeResults } from '../components/evaluate/ProbeResults.tsx';
import { SteeringCurves } from '../components/evaluate/SteeringCurves.tsx';
import { JobProgress } from '../components/JobProgress.tsx';
import { usePersistentState } from '../hooks/usePersistentState.ts';
import { useDatasetsStore } from '../stores/useDatasetsStore.ts';
import { useJobsStore } from '../stores/useJobsStore.ts';
import { useRegistryStore } from '../stores/useRegistryStore.ts';
import { useSynthesisStore } from '../stores/useSynthesisStore.ts';

/** Jobs of a kind, newest first: the newest (to follow) and the finished ones with a result. */
function jobsOf(jobs: Record<string, JobSnapshot>, kind: string): { current: JobSnapshot | undefined; done: JobSnapshot[] } {
  const ofKind = Object.values(jobs)
    .filter((job) => job.kind === kind)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return { current: ofKind[0], done: ofKind.filter((job) => job.state === 'done' && job.result !== null) };
}

const numbers = (text: string): number[] | null => {
  const values = text.split(',').map((part) => Number(part.trim()));
  return values.length > 0 && values.every((value) => Number.isFinite(value)) ? values : null;
};

/** The page's controls by request parameter, so engine errors name them (see guiErrorText). */
const evaluateControls: Record<string, string> = {
  model: 'Model',
  sae: 'SAE',
  datasets: 'datasets ticked',
  anchor: 'Anchor',
  thresholds: 'δ',
  train: 'Training sets',
  eval: 'Eval set',
  dataset: 'A/B items',
  layer: 'Layer (l_out, ≥ 1)',
  vector: 'Vector file',
  multipliers: 'Multipliers',
  models: 'models ticked',
  like: 'Synthesis run',
};

/** Progress of the newest job of a panel while it runs, or its error when it failed. */
function Following({ job }: { job: JobSnapshot | undefined }) {
  return job !== undefined && job.state !== 'done' ? <JobProgress job={job} /> : null;
}

function Panel({ title, testId, intro, children }: { title: string; testId: string; intro: ReactNode; children: ReactNode }) {
  return (
    <section className="panel" data-testid={testId}>
      <h3>{title}</h3>
      <p className="muted">{intro}</p>
      {children}
    </section>
  );
}

/**
 * Does the data help? The diversity report, head-only probes, steering and quantization drift,
 * each started as a job (progress and cancel on the panel and the Jobs page). A finished
 * synthesis run can be put side by side with its seed and its same-budget plain baseline in
 * one step: the report then shows every measure of the three sets in one table, and the probe
 * trains on seed, seed + guided and seed + plain.
 */
export function EvaluatePage() {
  const { models, saes } = useRegistryStore();
  const datasets = useDatasetsStore((state) => state.datasets);
  const ready = datasets.filter((dataset) => dataset.state === 'ready');
  const jobs = useJobsStore((state) => state.jobs);
  const synthesisRuns = useSynthesisStore((state) => state.runs);
  const [model, setModel] = usePersistentState('evaluate.model', '');
  const [sae, setSae] = usePersistentState('evaluate.sae', '');
  const [chosen, setChosen] = usePersistentState<string[]>('evaluate.datasets', []);
  const [anchor, setAnchor] = usePersistentState('evaluate.anchor', '');
  const [thresholds, setThresholds] = usePersistentState('evaluate.thresholds', '0, 1, 2');
  const [probeKind, setProbeKind] = usePersistentState<'classify' | 'reward'>('evaluate.probeKind', 'classify');
  const [trainSets, setTrainSets] = usePersistentState('evaluate.trainSets', '');
  const [evalSet, setEvalSet] = usePersistentState('evaluate.evalSet', '');
  const [caaSet, setCaaSet] = usePersistentState('evaluate.caaSet', '');
  const [layer, setLayer] = usePersistentState('evaluate.layer', '1');
  const [vectorPath, setVectorPath] = usePersistentState('evaluate.vectorPath', '');
  const [multipliers, setMultipliers] = usePersistentState('evaluate.multipliers', '-1, -0.5, 0, 0.5, 1');
  const [driftModels, setDriftModels] = usePersistentState<string[]>('evaluate.driftModels', []);
  const [driftDataset, setDriftDataset] = usePersistentState('evaluate.driftDataset', '');
  const [runId, setRunId] = usePersistentState('evaluate.synthesisRun', '');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void useSynthesisStore.getState().load();
  }, []);
  useEffect(() => {
    if (!models.some((entry) => entry.name === model) && models[0] !== undefined) setModel(models[0].name);
    if (!saes.some((entry) => entry.name === sae) && saes[0] !== undefined) setSae(saes[0].name);
  }, [models, saes, model, sae, setModel, setSae]);

  const report = jobsOf(jobs, 'evaluate.report');
  const probe = jobsOf(jobs, 'evaluate.probe');
  const vector = jobsOf(jobs, 'evaluate.steerVector');
  const steering = jobsOf(jobs, 'evaluate.steerEval');
  const drift = jobsOf(jobs, 'evaluate.drift');
  const plain = jobsOf(jobs, 'synthesis.plain');
  const reportResult = report.done[0]?.result as DiversityReport | undefined;
  const probeResult = probe.done[0]?.result as ProbeReport | undefined;
  const vectorResult = vector.done[0]?.result as SteeringVectorResult | undefined;
  const evaluations = steering.done.slice(0, 6).map((job) => job.result as SteeringEvaluation);
  const driftResult = drift.done[0]?.result as SaeDriftReport | undefined;

  useEffect(() => {
    if (vectorResult !== undefined && vectorPath === '') setVectorPath(vectorResult.out);
  }, [vectorResult, vectorPath, setVectorPath]);

  const finishedRuns = synthesisRuns.filter((run) => run.state === 'done' && run.report !== null && run.dataset !== null);
  const run: SynthesisRunView | undefined = finishedRuns.find((entry) => String(entry.id) === runId) ?? finishedRuns[0];
  const baseline = run === undefined ? undefined : ready.find((dataset) => dataset.sourcePath === plainBaselineSource(run.id));

  async function start(work: () => Promise<unknown>): Promise<void> {
    setError(null);
    try {
      await work();
    } catch (caught) {
      setError(guiErrorText(caught, { controls: evaluateControls }));
    }
  }

  /** Seed, guided and plain synthesis of one run into the report and the probe, in one step. */
  function compareRun(target: SynthesisRunView, plainName: string | undefined): void {
    const sets = [target.report!.seed, target.dataset!, ...(plainName !== undefined ? [plainName] : [])];
    setChosen(sets);
    setAnchor(target.report!.anchor);
    setTrainSets([target.report!.seed, `${target.report!.seed}, ${target.dataset!}`, ...(plainName !== undefined ? [`${target.report!.seed}, ${plainName}`] : [])].join('; '));
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

  const modelSelect = (testId: string) => (
    <label>
      Model
      <select value={model} onChange={(event) => setModel(event.target.value)} data-testid={testId}>
        {models.map((entry) => (
          <option key={entry.name}>{entry.name}</option>
        ))}
      </select>
    </label>
  );
  const saeSelect = (testId: string) => (
    <label>
      SAE
      <select value={sae} onChange={(event) => setSae(event.target.value)} data-testid={testId}>
        {saes.map((entry) => (
          <option key={entry.name}>{entry.name}</option>
        ))}
      </select>
    </label>
  );
  const datasetSelect = (value: string, set: (next: string) => void, testId: string) => (
    <select value={value} onChange={(event) => set(event.target.value)} data-testid={testId}>
      <option value="">–</option>
      {ready.map((dataset) => (
        <option key={dataset.id} value={dataset.name}>
          {dataset.name} ({dataset.role})
        </option>
      ))}
    </select>
  );

  return (
    <div className="page">
      <section className="panel">
        <h2>Evaluate</h2>
        <p className="muted">Does the data help? Compare datasets on FAC and text and embedding diversity, train head-only probes on the frozen model, measure steering and quantization drift, before spending a GPU-day on fine-tuning.</p>
        {error !== null ? (
          <div className="error" data-testid="evaluate-error">
            {error}
          </div>
        ) : null}
      </section>

      <Panel
        title="Seed, feature-guided and plain synthesis side by side"
        testId="ab-panel"
        intro="A plain baseline writes as many samples as the run kept, with the same generator, task format, sampling and gate, from a prompt that names no feature, and at most as many candidates per kept sample. Then the report and the probe below compare the three sets."
      >
        {run === undefined ? (
          <p className="muted">No finished synthesis run yet (Synthesis page).</p>
        ) : (
          <>
            <div className="form-row">
              <label>
                Synthesis run
                <select value={String(run.id)} onChange={(event) => setRunId(event.target.value)} data-testid="ab-run">
                  {finishedRuns.map((entry) => (
                    <option key={entry.id} value={String(entry.id)}>
                      run {entry.id} · {entry.task} · {entry.dataset} ({plural(entry.report!.acceptedCount, 'sample')})
                    </option>
                  ))}
                </select>
              </label>
              {baseline === undefined ? (
                <button type="button" data-testid="ab-plain-start" disabled={plain.current !== undefined && plain.current.state === 'running'} onClick={() => void start(() => api.call('synthesis.plain', { like: run.id }))}>
                  Write the plain baseline ({plural(run.report!.acceptedCount, 'sample')})
                </button>
              ) : (
                <span className="muted" data-testid="ab-plain-dataset">
                  plain baseline: {baseline.name} ({plural(baseline.sampleCount, 'sample')})
                </span>
              )}
              <button type="button" className="primary" data-testid="ab-use" onClick={() => compareRun(run, baseline?.name)}>
                Compare {run.report!.seed}, {run.dataset}
                {baseline !== undefined ? `, ${baseline.name}` : ''} below
              </button>
            </div>
            <Following job={plain.current} />
          </>
        )}
      </Panel>

      <Panel title="Diversity report" testId="report-panel" intro="FAC at each δ against the anchor, on length-matched subsets too, text diversity over words, and embedding diversity (mean-pooled final hidden states of the model).">
        <div className="form-row">
          {modelSelect('evaluate-model')}
          {saeSelect('evaluate-sae')}
          <label>
            δ
            <input value={thresholds} onChange={(event) => setThresholds(event.target.value)} size={10} data-testid="evaluate-thresholds" />
          </label>
          <label>
            Anchor
            <select value={anchor} onChange={(event) => setAnchor(event.target.value)} data-testid="evaluate-anchor">
              <option value="">first dataset chosen</option>
              {ready.map((dataset) => (
                <option key={dataset.id} value={dataset.name}>
                  {dataset.name}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className="form-row" data-testid="evaluate-datasets">
          {ready.map((dataset) => (
            <label key={dataset.id}>
              <input type="checkbox" checked={chosen.includes(dataset.name)} onChange={(event) => setChosen(event.target.checked ? [...chosen, dataset.name] : chosen.filter((name) => name !== dataset.name))} /> {dataset.name} <span className="muted">({dataset.role})</span>
            </label>
          ))}
        </div>
        <div className="form-row">
          <button
            type="button"
            className="primary"
            data-testid="report-start"
            disabled={chosen.filter((name) => ready.some((dataset) => dataset.name === name)).length === 0}
            onClick={() =>
              void start(async () => {
                const deltas = numbers(thresholds);
                if (deltas === null || deltas.some((value) => value < 0)) throw new Error('δ: comma-separated numbers ≥ 0, e.g. 0, 1, 2.');
                const names = chosen.filter((name) => ready.some((dataset) => dataset.name === name));
                await api.call('evaluate.report', { model, sae, datasets: names, thresholds: deltas, ...(anchor !== '' ? { anchor } : {}) });
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
        <Following job={report.current} />
        {reportResult !== undefined ? <DiversityReportView report={reportResult} /> : null}
      </Panel>

      <Panel title="Head-only probe" testId="probe-panel" intro="A linear head on the last token's final hidden state of the frozen model (the paper's head-only setting). Separate training configurations by “;” and join datasets with “,” (e.g. seed; seed, synthetic); three seeds each.">
        <div className="form-row">
          {modelSelect('probe-model')}
          <label>
            Probe
            <select value={probeKind} onChange={(event) => setProbeKind(event.target.value as 'classify' | 'reward')} data-testid="probe-kind">
              <option value="classify">classify (0/1 labels)</option>
              <option value="reward">reward (preference pairs)</option>
            </select>
          </label>
          <label>
            Training sets
            <input value={trainSets} onChange={(event) => setTrainSets(event.target.value)} size={34} placeholder="seed; seed, synthetic" data-testid="probe-train" />
          </label>
          <label>
            Eval set
            {datasetSelect(evalSet, setEvalSet, 'probe-eval')}
          </label>
          <button
            type="button"
            className="primary"
            data-testid="probe-start"
            onClick={() =>
              void start(async () => {
                const train = trainSets
                  .split(';')
                  .map((set) => set.split(',').map((name) => name.trim()).filter((name) => name !== ''))
                  .filter((set) => set.length > 0);
                if (train.length === 0) throw new Error('Training sets: name at least one dataset (configurations separated by “;”, datasets joined by “,”).');
                if (evalSet === '') throw new Error('Eval set: pick the dataset the probe is scored on.');
                await api.call('evaluate.probe', { kind: probeKind, model, train, eval: evalSet });
              })
            }
          >
            Train and evaluate
          </button>
        </div>
        <Following job={probe.current} />
        {probeResult !== undefined ? <ProbeResults report={probeResult} /> : null}
      </Panel>

      <Panel title="Steering" testId="steering-panel" intro="A CAA vector (mean difference of the residual at the answer letter between matching and non-matching completions), then robust accuracy per multiplier. Steering Control Rate = robust accuracy at +1 minus at −1.">
        <div className="form-row">
          {modelSelect('steer-model')}
          <label>
            A/B items
            {datasetSelect(caaSet, setCaaSet, 'steer-dataset')}
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
                if (caaSet === '') throw new Error('A/B items: pick a dataset of A/B items.');
                if (!/^\d+$/.test(layer.trim()) || Number(layer) < 1) throw new Error('Layer: a whole number ≥ 1 (llama.cpp block whose output is steered).');
                const info = await api.call('system.info', {});
                await api.call('evaluate.steerVector', { model, dataset: caaSet, layer: Number(layer), out: `${info.home}/vectors/${caaSet}-l${Number(layer)}.npy` });
              })
            }
          >
            Build vector
          </button>
        </div>
        <Following job={vector.current} />
        {vectorResult !== undefined ? (
          <p className="muted" data-testid="steer-vector-result">
            Vector from {formatCount(vectorResult.items)} items at l_out-{vectorResult.layer} (norm {formatDecimal(vectorResult.norm)}): {vectorResult.out}
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
            className="primary"
            data-testid="steer-eval-start"
            onClick={() =>
              void start(async () => {
                const values = numbers(multipliers);
                if (caaSet === '') throw new Error('A/B items: pick the dataset of A/B items to score.');
                if (vectorPath === '') throw new Error('Vector file: build a vector first, or give the path of one.');
                if (values === null) throw new Error('Multipliers: comma-separated numbers, e.g. -1, 0, 1.');
                await api.call('evaluate.steerEval', { model, vector: vectorPath, dataset: caaSet, multipliers: values });
              })
            }
          >
            Evaluate steering
          </button>
        </div>
        <Following job={steering.current} />
        {evaluations.length > 0 ? <SteeringCurves evaluations={evaluations} /> : null}
      </Panel>

      <Panel title="Quantization drift" testId="drift-panel" intro="One SAE on the same dataset under several quantized variants of a model (make them under “Quantize a model” on the Models page); the first model ticked is the reference.">
        <div className="form-row">
          {saeSelect('drift-sae')}
          <label>
            Dataset
            {datasetSelect(driftDataset, setDriftDataset, 'drift-dataset')}
          </label>
        </div>
        <div className="form-row" data-testid="drift-models">
          {models.map((entry) => (
            <label key={entry.name}>
              <input type="checkbox" checked={driftModels.includes(entry.name)} onChange={(event) => setDriftModels(event.target.checked ? [...driftModels, entry.name] : driftModels.filter((name) => name !== entry.name))} /> {entry.name}
              {driftModels.indexOf(entry.name) === 0 ? <span className="muted"> (reference)</span> : null}
            </label>
          ))}
        </div>
        <button
          type="button"
          className="primary"
          data-testid="drift-start"
          onClick={() =>
            void start(async () => {
              const variants = driftModels.filter((name) => models.some((entry) => entry.name === name));
              if (variants.length < 2) throw new Error('Models: tick at least two variants of the model (the first ticked is the reference).');
              if (driftDataset === '') throw new Error('Dataset: pick the dataset the SAE is measured on.');
              await api.call('evaluate.drift', { sae, models: variants, dataset: driftDataset });
            })
          }
        >
          Measure drift
        </button>
        <Following job={drift.current} />
        {driftResult !== undefined ? <DriftTable report={driftResult} /> : null}
      </Panel>
    </div>
  );
}
