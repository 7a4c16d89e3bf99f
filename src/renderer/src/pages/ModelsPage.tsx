import { useState } from 'react';
import { api, connection } from '../api/connection.ts';
import { JobProgress } from '../components/JobProgress.tsx';
import { useJobsStore } from '../stores/useJobsStore.ts';
import { useRegistryStore } from '../stores/useRegistryStore.ts';

function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}

/** Registered GGUF models and SAEs; register a model by its path on the engine's machine. */
export function ModelsPage() {
  const { models, saes } = useRegistryStore();
  const jobs = useJobsStore((state) => state.jobs);
  const [path, setPath] = useState('');
  const [error, setError] = useState<string | null>(null);
  const adding = Object.values(jobs).filter((job) => job.kind === 'model.add' && (job.state === 'running' || job.state === 'queued' || job.state === 'failed'));

  async function add(): Promise<void> {
    setError(null);
    try {
      await api.call('models.add', { path: path.trim() });
      setPath('');
    } catch (caught) {
      setError((caught as Error).message);
    }
  }

  return (
    <div className="page">
      <section className="panel">
        <h2>Register a model</h2>
        <div className="form-row">
          <input className="wide" value={path} placeholder="/path/to/model.gguf (on the machine running the engine)" onChange={(event) => setPath(event.target.value)} data-testid="model-path" />
          {connection.desktop !== undefined ? (
            <button type="button" onClick={() => void connection.desktop?.pickFile('model').then((chosen) => chosen && setPath(chosen))}>
              Browse…
            </button>
          ) : null}
          <button type="button" className="primary" disabled={path.trim() === ''} onClick={() => void add()} data-testid="model-add">
            Register
          </button>
        </div>
        {error !== null ? <div className="error">{error}</div> : null}
        {adding.map((job) => (
          <JobProgress key={job.id} job={job} />
        ))}
      </section>
      <section className="panel">
        <h2>Models</h2>
        {models.length === 0 ? (
          <p className="muted">No models registered. Register a LLaMA, Mistral or Qwen GGUF file above, or run `facet models add file.gguf`.</p>
        ) : (
          <table className="grid" data-testid="models-table">
            <thead>
              <tr>
                <th>name</th>
                <th>architecture</th>
                <th>blocks</th>
                <th>n_embd</th>
                <th>context</th>
                <th>quantization</th>
                <th>tokenizer</th>
                <th>size</th>
              </tr>
            </thead>
            <tbody>
              {models.map((model) => (
                <tr key={model.id} data-testid="model-row" title={model.path}>
                  <td>{model.name}</td>
                  <td>{model.architecture}</td>
                  <td>{model.blockCount ?? '?'}</td>
                  <td>{model.embeddingLength ?? '?'}</td>
                  <td>{model.contextLength ?? '?'}</td>
                  <td>{model.quantization}</td>
                  <td>{model.tokenizerModel ?? '?'}</td>
                  <td>{formatBytes(model.sizeBytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="panel">
        <h2>Sparse autoencoders</h2>
        {saes.length === 0 ? (
          <p className="muted">No SAEs yet. Import one with `facet sae import &lt;path&gt;` or train one with `facet sae train`.</p>
        ) : (
          <table className="grid" data-testid="saes-table">
            <thead>
              <tr>
                <th>name</th>
                <th>architecture</th>
                <th>d_in → d_sae</th>
                <th>K</th>
                <th>layer (l_out, 0-based)</th>
                <th>family</th>
                <th>format</th>
              </tr>
            </thead>
            <tbody>
              {saes.map((sae) => (
                <tr key={sae.id}>
                  <td>{sae.name}</td>
                  <td>{sae.architecture}</td>
                  <td>
                    {sae.dIn} → {sae.dSae}
                  </td>
                  <td>{sae.k ?? '–'}</td>
                  <td>{sae.layer ?? '?'}</td>
                  <td>{sae.modelFamily ?? '?'}</td>
                  <td>{sae.format}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
