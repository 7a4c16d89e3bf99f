import { useState } from 'react';
import { api, connection } from '../api/connection.ts';
import { JobProgress } from '../components/JobProgress.tsx';
import { useDatasetsStore } from '../stores/useDatasetsStore.ts';
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
  const training = Object.values(jobs).filter((job) => job.kind === 'sae.train' && (job.state === 'running' || job.state === 'queued' || job.state === 'failed'));
  const datasets = useDatasetsStore((state) => state.datasets).filter((dataset) => dataset.state === 'ready');
  const [trainModel, setTrainModel] = useState('');
  const [trainDataset, setTrainDataset] = useState('');
  const [trainLayer, setTrainLayer] = useState('');
  const [trainFeatures, setTrainFeatures] = useState('65536');
  const [trainK, setTrainK] = useState('20');
  const [trainEpochs, setTrainEpochs] = useState('3');
  const [trainError, setTrainError] = useState<string | null>(null);
  const chosenModel = models.find((model) => model.name === (trainModel || models[0]?.name)) ?? null;
  const defaultLayer = chosenModel?.blockCount ? Math.floor((chosenModel.blockCount - 1) / 2) : 0;

  async function train(): Promise<void> {
    setTrainError(null);
    const numbers = [trainFeatures, trainK, trainEpochs].map(Number);
    const layer = trainLayer === '' ? defaultLayer : Number(trainLayer);
    if (![...numbers, layer].every((value) => Number.isInteger(value) && value >= 0)) {
      setTrainError('Layer, features, K and epochs are whole numbers.');
      return;
    }
    try {
      await api.call('saes.train', {
        model: chosenModel?.name ?? '',
        dataset: trainDataset || (datasets[0]?.name ?? ''),
        layer,
        features: numbers[0] as number,
        k: numbers[1] as number,
        epochs: numbers[2] as number,
      });
    } catch (caught) {
      setTrainError((caught as Error).message);
    }
  }

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
        <h2>Train a sparse autoencoder</h2>
        <div className="form-row">
          <label>
            Model
            <select value={chosenModel?.name ?? ''} onChange={(event) => setTrainModel(event.target.value)} data-testid="train-model">
              {models.map((model) => (
                <option key={model.id}>{model.name}</option>
              ))}
            </select>
          </label>
          <label>
            Dataset
            <select value={trainDataset || (datasets[0]?.name ?? '')} onChange={(event) => setTrainDataset(event.target.value)} data-testid="train-dataset">
              {datasets.map((dataset) => (
                <option key={dataset.id}>{dataset.name}</option>
              ))}
            </select>
          </label>
          <label title="llama.cpp 0-based block index: the residual stream after block L (l_out-L)">
            Layer (l_out, 0-based) <input className="narrow" value={trainLayer} placeholder={String(defaultLayer)} onChange={(event) => setTrainLayer(event.target.value)} data-testid="train-layer" />
          </label>
          <label>
            Features <input className="narrow" value={trainFeatures} onChange={(event) => setTrainFeatures(event.target.value)} data-testid="train-features" />
          </label>
          <label>
            K <input className="narrow" value={trainK} onChange={(event) => setTrainK(event.target.value)} data-testid="train-k" />
          </label>
          <label>
            Epochs <input className="narrow" value={trainEpochs} onChange={(event) => setTrainEpochs(event.target.value)} data-testid="train-epochs" />
          </label>
          <button type="button" className="primary" disabled={chosenModel === null || datasets.length === 0} onClick={() => void train()} data-testid="train-start">
            Train
          </button>
        </div>
        <p className="muted">Tied TopK with the paper's recipe (b_dec at the data mean, normalised MSE loss, Adam lr 1e-3). The trained SAE is registered below; training resumes from its checkpoint if interrupted.</p>
        {trainError !== null ? <div className="error">{trainError}</div> : null}
        {training.map((job) => (
          <JobProgress key={job.id} job={job} />
        ))}
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
                <th>trained on</th>
                <th>format</th>
              </tr>
            </thead>
            <tbody>
              {saes.map((sae) => (
                <tr key={sae.id} data-testid="sae-row">
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
