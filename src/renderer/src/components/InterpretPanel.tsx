import { useState } from 'react';
import { builtInTasks } from '../../../shared/interpretationTypes.ts';
import { api } from '../api/connection.ts';
import { useJobsStore } from '../stores/useJobsStore.ts';
import { useRegistryStore } from '../stores/useRegistryStore.ts';
import { JobProgress } from './JobProgress.tsx';

interface EndpointFields {
  baseUrl: string;
  model: string;
  keyVariable: string;
}

/**
 * Starts `features.explain` and `features.judge` jobs for one feature space: which model writes
 * (the space's own, another registered one, or an OpenAI-compatible endpoint, which says plainly
 * that texts leave the machine), which features and how many; the jobs' progress shows below.
 */
export function InterpretPanel({ spaceId, missingRuns }: { spaceId: number; missingRuns: { id: number; label: string }[] }) {
  const models = useRegistryStore((state) => state.models);
  const jobs = useJobsStore((state) => state.jobs);
  const [writer, setWriter] = useState('');
  const [useEndpoint, setUseEndpoint] = useState(false);
  const [endpoint, setEndpoint] = useState<EndpointFields>({ baseUrl: 'http://127.0.0.1:8080/v1', model: '', keyVariable: '' });
  const [features, setFeatures] = useState('anchor');
  const [limit, setLimit] = useState('20');
  const [candidates, setCandidates] = useState('3');
  const [task, setTask] = useState<string>(builtInTasks[0]);
  const [error, setError] = useState<string | null>(null);

  const common = () => {
    const count = Number(limit);
    return {
      spaceId,
      features: features as 'anchor',
      ...(Number.isInteger(count) && count > 0 ? { limit: count } : {}),
      ...(useEndpoint ? { endpoint: { baseUrl: endpoint.baseUrl.trim(), model: endpoint.model.trim(), ...(endpoint.keyVariable.trim() !== '' ? { keyVariable: endpoint.keyVariable.trim() } : {}) } } : {}),
    };
  };

  async function explain(): Promise<void> {
    setError(null);
    try {
      await api.call('features.explain', { ...common(), candidates: Math.max(1, Math.min(16, Number(candidates) || 3)), ...(!useEndpoint && writer !== '' ? { explainer: writer } : {}) });
    } catch (caught) {
      setError((caught as Error).message);
    }
  }

  async function judge(): Promise<void> {
    setError(null);
    try {
      await api.call('features.judge', { ...common(), task: task.trim(), ...(!useEndpoint && writer !== '' ? { judge: writer } : {}) });
    } catch (caught) {
      setError((caught as Error).message);
    }
  }

  const running = Object.values(jobs)
    .filter((job) => (job.kind === 'features.explain' || job.kind === 'features.judge') && (job.state === 'queued' || job.state === 'running' || job.state === 'failed' || job.interrupted))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .slice(0, 3);

  return (
    <section className="panel" data-testid="interpret-panel">
      <h3>Explain and judge features</h3>
      <p className="muted">
        A model writes candidate explanations from each feature's top and across-the-range excerpts; each is scored by detection (balanced accuracy at telling held-out activating excerpts from non-activating ones), the best is kept and verified.
        Judging gives each feature a verdict for a task (relevant = Yes, Probably or Maybe), which coverage can use as F.
      </p>
      <div className="form-row">
        <label>
          Model that writes
          <select value={writer} onChange={(event) => setWriter(event.target.value)} disabled={useEndpoint} data-testid="interpret-model">
            <option value="">the space's own model</option>
            {models.map((model) => (
              <option key={model.name}>{model.name}</option>
            ))}
          </select>
        </label>
        <label>
          Features
          <select value={features} onChange={(event) => setFeatures(event.target.value)} data-testid="interpret-features">
            <option value="anchor">active in the anchor set, most frequent first</option>
            {missingRuns.map((run) => (
              <option key={run.id} value={`missing:${run.id}`}>
                missing in {run.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          At most
          <input value={limit} onChange={(event) => setLimit(event.target.value)} size={5} data-testid="interpret-limit" />
        </label>
        <label>
          Candidates
          <input value={candidates} onChange={(event) => setCandidates(event.target.value)} size={3} data-testid="interpret-candidates" />
        </label>
      </div>
      <div className="form-row">
        <label>
          <input type="checkbox" checked={useEndpoint} onChange={(event) => setUseEndpoint(event.target.checked)} data-testid="interpret-use-endpoint" /> Use an OpenAI-compatible endpoint instead
        </label>
      </div>
      {useEndpoint ? (
        <>
          <div className="form-row">
            <label>
              Base URL
              <input value={endpoint.baseUrl} onChange={(event) => setEndpoint({ ...endpoint, baseUrl: event.target.value })} size={32} data-testid="endpoint-url" />
            </label>
            <label>
              Model name
              <input value={endpoint.model} onChange={(event) => setEndpoint({ ...endpoint, model: event.target.value })} size={16} data-testid="endpoint-model" />
            </label>
            <label>
              Key from environment variable
              <input value={endpoint.keyVariable} onChange={(event) => setEndpoint({ ...endpoint, keyVariable: event.target.value })} size={16} placeholder="e.g. OPENAI_API_KEY" data-testid="endpoint-key" />
            </label>
          </div>
          <div className="error" data-testid="endpoint-notice">
            Texts leave this machine: feature excerpts and prompts are sent to {endpoint.baseUrl || 'the endpoint'}. Without the endpoint, everything stays local.
          </div>
        </>
      ) : null}
      <div className="form-row">
        <button type="button" onClick={() => void explain()} data-testid="explain-start">
          Explain
        </button>
        <label>
          Task
          <input list="facet-tasks" value={task} onChange={(event) => setTask(event.target.value)} size={22} data-testid="judge-task" />
          <datalist id="facet-tasks">
            {builtInTasks.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </label>
        <button type="button" onClick={() => void judge()} data-testid="judge-start">
          Judge relevance
        </button>
        <span className="muted">A task is one of the five built-in rubrics, or the path of a rubric file on the engine's machine.</span>
      </div>
      {error !== null ? (
        <div className="error" data-testid="interpret-error">
          {error}
        </div>
      ) : null}
      {running.map((job) => (
        <JobProgress key={job.id} job={job} />
      ))}
    </section>
  );
}
