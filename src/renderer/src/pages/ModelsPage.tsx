import { useEffect, useState } from 'react';
import { formatBytes, formatCount } from '../../../shared/formatNumber.ts';
import { isActive, type JobSnapshot } from '../../../shared/jobTypes.ts';
import type { ModelLoadEstimate, ModelSummary } from '../../../shared/registryTypes.ts';
import { api } from '../api/connection.ts';
import { JobErrorCard } from '../components/JobErrorCard.tsx';
import { JobProgress } from '../components/JobProgress.tsx';
import { PathField } from '../components/PathField.tsx';
import { TrainingCurves } from '../components/TrainingCurves.tsx';
import { errorParam, guiErrorText } from '../guiErrorText.ts';
import { usePersistentState } from '../hooks/usePersistentState.ts';
import { useDatasetsStore } from '../stores/useDatasetsStore.ts';
import { useJobsStore } from '../stores/useJobsStore.ts';
import { useNavigationStore } from '../stores/useNavigationStore.ts';
import { useRegistryStore } from '../stores/useRegistryStore.ts';

/** File endings the SAE path completion offers (folders always). */
const saeExtensions = ['.pth', '.pt', '.safetensors', '.json', '.npz', '.npy'];

const registerControls = { path: 'GGUF file', name: 'Name' };
const downloadControls = { uri: 'Address', name: 'Name', path: 'Address' };
const trainControls = { model: 'Model', dataset: 'Dataset', layer: 'Layer', features: 'Features', k: 'K', epochs: 'Epochs', batchTokens: 'Batch', name: 'SAE name' };
const importControls = { path: 'SAE folder or file', name: 'Name', layer: 'Layer', model: 'Model family', format: 'Format' };

/** Jobs of these kinds that are running, or stopped early and not dismissed (so a failure stays until read). */
function pinnedJobs(jobs: Record<string, JobSnapshot>, kinds: string[]): JobSnapshot[] {
  return Object.values(jobs)
    .filter((job) => kinds.includes(job.kind) && (isActive(job) || job.interrupted || ((job.state === 'failed' || job.state === 'cancelled') && job.dismissedAt === null)))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/**
 * Features offered for a model: 16 × d_model (the usual 8–32 × expansion), a power of two
 * between 1,024 and 65,536 (the paper's size for a 4,096-wide model).
 */
export function defaultFeatureCount(embeddingLength: number | null): number {
  if (embeddingLength === null || embeddingLength <= 0) return 16_384;
  const wanted = 16 * embeddingLength;
  return Math.min(65_536, Math.max(1024, 2 ** Math.round(Math.log2(wanted))));
}

/** A typed number (thousands separators allowed); NaN when empty or not a number. */
function numberIn(text: string): number {
  const trimmed = text.replace(/,/g, '').trim();
  return trimmed === '' ? Number.NaN : Number(trimmed);
}

/** The training form's ranges in plain words (the engine's schema says the same in its own terms). */
export function trainFormProblem(values: { layer: number; features: number; k: number; epochs: number; batchTokens: number }, model: ModelSummary | null): { text: string; param: string } | null {
  const blocks = model?.blockCount ?? null;
  const maxK = Math.min(1024, Number.isInteger(values.features) ? values.features : 1024);
  const checks: { param: string; value: number; min: number; max: number; text: string }[] = [
    { param: 'layer', value: values.layer, min: 0, max: blocks !== null ? blocks - 1 : 1023, text: blocks !== null ? `Layer: 0 to ${formatCount(blocks - 1)} for ${model?.name ?? 'this model'}` : 'Layer: a block index, 0 or more' },
    { param: 'features', value: values.features, min: 8, max: 1 << 20, text: `Features: 8 to ${formatCount(1 << 20)}` },
    { param: 'k', value: values.k, min: 1, max: maxK, text: `K: 1 to ${formatCount(maxK)} (at most the number of features)` },
    { param: 'epochs', value: values.epochs, min: 1, max: 100, text: 'Epochs: 1 to 100 passes over the dataset' },
    { param: 'batchTokens', value: values.batchTokens, min: 16, max: 1 << 20, text: `Batch: a number of tokens, at least 16 (at most ${formatCount(1 << 20)})` },
  ];
  for (const check of checks) {
    if (Number.isInteger(check.value) && check.value >= check.min && check.value <= check.max) continue;
    const given = Number.isNaN(check.value) ? 'it is empty or not a number' : `not ${formatCount(check.value)}`;
    return { text: `${check.text}; ${given}.`, param: check.param };
  }
  return null;
}

function ErrorBox({ text, testId }: { text: string | null; testId: string }) {
  return text === null ? null : (
    <div className="error" role="alert" data-testid={testId}>
      {text}
    </div>
  );
}

/** What a model needs before it is loaded (weights, KV cache at a context) against free RAM / VRAM. */
function ModelEstimatePanel({ model }: { model: ModelSummary }) {
  const [context, setContext] = usePersistentState('models.estimateContext', '4096');
  const [estimate, setEstimate] = useState<ModelLoadEstimate | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setEstimate(null), [model.name]);
  useEffect(() => {
    const size = Number(context);
    if (!Number.isInteger(size) || size < 1) {
      setError("'Context' is a whole number of tokens.");
      return;
    }
    setError(null);
    let stale = false;
    const timer = setTimeout(() => {
      api.call('models.estimate', { model: model.name, contextSize: Math.min(size, model.contextLength ?? size) }).then(
        (result) => !stale && setEstimate(result),
        (caught: unknown) => !stale && setError(guiErrorText(caught, { controls: { contextSize: 'Context' } })),
      );
    }, 200);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [model.name, model.contextLength, context]);
  const budget = estimate?.vram?.freeBytes ?? estimate?.ram.freeBytes ?? 0;
  return (
    <section className="panel" data-testid="model-estimate">
      <h2>
        Before loading <span className="muted">· {model.name}</span>
      </h2>
      <div className="form-row">
        <label>
          Context (tokens) <input className="narrow" value={context} onChange={(event) => setContext(event.target.value)} data-testid="estimate-context" />
        </label>
        <span className="help">trained context {formatCount(model.contextLength)} tokens; the estimate uses the smaller of the two</span>
      </div>
      <ErrorBox text={error} testId="estimate-error" />
      {estimate === null && error === null ? <p className="help">Reading the model's header and the machine's memory…</p> : null}
      {estimate !== null ? (
        <>
          <dl className="terms estimate">
            <dt>parameters</dt>
            <dd data-testid="estimate-parameters">{formatCount(estimate.parameterCount)}</dd>
            <dt>file</dt>
            <dd>{formatBytes(estimate.fileBytes)}</dd>
            <dt>weights</dt>
            <dd>{formatBytes(estimate.weightsBytes)}</dd>
            <dt>KV cache</dt>
            <dd data-testid="estimate-kv">
              {estimate.kvCacheBytes === null ? 'unknown (the file does not state its attention shape)' : `${formatBytes(estimate.kvCacheBytes)} at ${formatCount(estimate.contextSize)} tokens, ${estimate.kvType}`}
            </dd>
            <dt>total</dt>
            <dd>
              <strong>{formatBytes(estimate.totalBytes)}</strong> <span className="muted">+ compute buffers (tens to hundreds of MiB)</span>
            </dd>
            <dt>RAM</dt>
            <dd>
              {formatBytes(estimate.ram.freeBytes)} free of {formatBytes(estimate.ram.totalBytes)}
            </dd>
            <dt>GPU</dt>
            <dd>{estimate.vram === null ? `none (${estimate.backend} backend)` : `${estimate.gpuDevices.join(', ') || estimate.backend}: ${formatBytes(estimate.vram.freeBytes)} free of ${formatBytes(estimate.vram.totalBytes)}`}</dd>
          </dl>
          <div className={estimate.fits === 'no' ? 'warning' : 'help'} data-testid="estimate-fits">
            {estimate.fits === 'vram' ? 'Fits in free GPU memory.' : estimate.fits === 'ram' ? `Fits in free RAM${estimate.vram !== null ? ' (not in free GPU memory)' : ''}; runs on the CPU.` : `Needs ${formatBytes(estimate.totalBytes)}, more than the ${formatBytes(budget)} free: choose a smaller context or a smaller quantization.`}
          </div>
        </>
      ) : null}
    </section>
  );
}

/** llama.cpp quantization types offered, most used first (the engine checks the type again). */
const quantizeTypes = ['q8_0', 'q4_k_m', 'q5_k_m', 'q6_k', 'q4_0', 'q4_k_s', 'q5_k_s', 'q5_0', 'q3_k_m', 'q2_k', 'f16', 'bf16'];
const quantizeControls = { model: 'Model', type: 'Type', name: 'New name', out: 'New name', path: 'New name' };

/** The new file's path: `<name>.gguf` beside the model it is made from. */
function quantizedPath(modelPath: string, name: string): string {
  const cut = Math.max(modelPath.lastIndexOf('/'), modelPath.lastIndexOf('\\'));
  return `${cut >= 0 ? modelPath.slice(0, cut + 1) : ''}${name}.gguf`;
}

/** A quantized copy of a registered model (llama.cpp's quantizer), written beside it and registered, as a job. */
function QuantizePanel({ models, jobs }: { models: ModelSummary[]; jobs: Record<string, JobSnapshot> }) {
  const [source, setSource] = usePersistentState('models.quantizeModel', '');
  const [type, setType] = usePersistentState('models.quantizeType', 'q8_0');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const model = models.find((candidate) => candidate.name === source) ?? models[0] ?? null;
  const defaultName = model !== null ? `${model.name}-${type}` : '';
  const quantizeJobs = pinnedJobs(jobs, ['model.quantize']);

  async function quantize(): Promise<void> {
    if (model === null) return;
    setError(null);
    const newName = name.trim() === '' ? defaultName : name.trim();
    if (!/^[\w.+-]+$/.test(newName)) {
      setError("'New name': letters, digits, '.', '-', '_' or '+' only (it is also the new file's name).");
      return;
    }
    setBusy(true);
    try {
      await api.call('models.quantize', { model: model.name, type, out: quantizedPath(model.path, newName), name: newName });
      setName('');
    } catch (caught) {
      setError(guiErrorText(caught, { controls: quantizeControls }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="panel" data-testid="quantize-panel">
      <h2>Quantize a model</h2>
      {models.length === 0 ? (
        <p className="muted">Register a model above to make a quantized copy of it.</p>
      ) : (
        <>
          <div className="form-row">
            <label>
              Model
              <select value={model?.name ?? ''} onChange={(event) => setSource(event.target.value)} data-testid="quantize-model">
                {models.map((candidate) => (
                  <option key={candidate.id}>{candidate.name}</option>
                ))}
              </select>
            </label>
            <label>
              Type
              <select value={type} onChange={(event) => setType(event.target.value)} data-testid="quantize-type">
                {quantizeTypes.map((value) => (
                  <option key={value}>{value}</option>
                ))}
              </select>
            </label>
            <label>
              New name <input className="quantize-name" value={name} placeholder={defaultName} onChange={(event) => setName(event.target.value)} data-testid="quantize-name" />
            </label>
            <button type="button" className="primary" disabled={model === null || busy} onClick={() => void quantize()} data-testid="quantize-start">
              {busy ? 'Starting…' : 'Quantize'}
            </button>
          </div>
          <p className="help">
            Writes <code>{quantizedPath(model?.path ?? '', name.trim() === '' ? defaultName : name.trim())}</code> beside the model ({model?.quantization ?? '?'} now) with llama.cpp's quantizer and registers it, so the Evaluate page can compare the two. q8_0 is near-lossless; q4_k_m is about a third of f16's size.
          </p>
        </>
      )}
      <ErrorBox text={error} testId="quantize-error" />
      {quantizeJobs.map((job) => (job.state === 'failed' || job.state === 'cancelled' ? <JobErrorCard key={job.id} job={job} context={{ controls: quantizeControls }} /> : <JobProgress key={job.id} job={job} />))}
    </section>
  );
}

/** Models (register, download, estimate, remove) and sparse autoencoders (train, import, remove). */
export function ModelsPage() {
  const { models, saes } = useRegistryStore();
  const jobs = useJobsStore((state) => state.jobs);
  const params = useNavigationStore((state) => state.params);
  const setParams = useNavigationStore((state) => state.setParams);
  const datasets = useDatasetsStore((state) => state.datasets).filter((dataset) => dataset.state === 'ready');

  const [path, setPath] = usePersistentState('models.path', '');
  const [modelName, setModelName] = useState('');
  const [registerError, setRegisterError] = useState<string | null>(null);
  const [uri, setUri] = usePersistentState('models.downloadUri', '');
  const [downloadName, setDownloadName] = useState('');
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const addJobs = pinnedJobs(jobs, ['model.add', 'model.pull']);

  const [trainModel, setTrainModel] = usePersistentState('models.trainModel', '');
  const [trainDataset, setTrainDataset] = usePersistentState('models.trainDataset', '');
  const [trainLayer, setTrainLayer] = usePersistentState('models.trainLayer', '');
  const [trainFeatures, setTrainFeatures] = usePersistentState('models.trainFeatures', '');
  const [trainK, setTrainK] = usePersistentState('models.trainK', '20');
  const [trainEpochs, setTrainEpochs] = usePersistentState('models.trainEpochs', '3');
  const [trainBatch, setTrainBatch] = usePersistentState('models.trainBatch', '4096');
  const [trainName, setTrainName] = useState('');
  const [trainError, setTrainError] = useState<{ text: string; param: string | undefined } | null>(null);
  const trainJobs = pinnedJobs(jobs, ['sae.train']);
  const lastTraining = Object.values(jobs)
    .filter((job) => job.kind === 'sae.train' && job.state === 'done' && job.dismissedAt === null)
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];

  const [saePath, setSaePath] = usePersistentState('models.saePath', '');
  const [saeName, setSaeName] = useState('');
  const [saeLayer, setSaeLayer] = useState('');
  const [saeBusy, setSaeBusy] = useState(false);
  const [saeError, setSaeError] = useState<string | null>(null);
  const [listError, setListError] = useState<string | null>(null);

  const chosenModel = models.find((model) => model.name === trainModel) ?? models[0] ?? null;
  const chosenDataset = datasets.find((dataset) => dataset.name === trainDataset) ?? datasets[0] ?? null;
  const blocks = chosenModel?.blockCount ?? null;
  const defaultLayer = blocks !== null ? Math.floor((blocks - 1) / 2) : 0;
  const featuresDefault = defaultFeatureCount(chosenModel?.embeddingLength ?? null);
  const openModel = models.find((model) => model.name === params['model']) ?? null;

  useEffect(() => {
    const key = params['sae'] !== undefined ? `sae-${params['sae']}` : params['model'] !== undefined ? `model-${params['model']}` : null;
    if (key !== null) document.querySelector(`[data-row-key="${CSS.escape(key)}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [params, models.length, saes.length]);

  async function register(): Promise<void> {
    setRegisterError(null);
    try {
      await api.call('models.add', { path: path.trim(), ...(modelName.trim() !== '' ? { name: modelName.trim() } : {}) });
      setPath('');
      setModelName('');
    } catch (caught) {
      setRegisterError(guiErrorText(caught, { controls: registerControls }));
    }
  }

  async function download(): Promise<void> {
    setDownloadError(null);
    try {
      await api.call('models.pull', { uri: uri.trim(), ...(downloadName.trim() !== '' ? { name: downloadName.trim() } : {}) });
      setDownloadName('');
    } catch (caught) {
      setDownloadError(guiErrorText(caught, { controls: downloadControls }));
    }
  }

  async function train(): Promise<void> {
    setTrainError(null);
    const layer = trainLayer.trim() === '' ? defaultLayer : Number(trainLayer);
    const features = trainFeatures.trim() === '' ? featuresDefault : Number(trainFeatures);
    const problem = trainFormProblem({ layer, features, k: numberIn(trainK), epochs: numberIn(trainEpochs), batchTokens: numberIn(trainBatch) }, chosenModel);
    if (problem !== null) {
      setTrainError(problem);
      return;
    }
    try {
      await api.call('saes.train', { model: chosenModel?.name ?? '', dataset: chosenDataset?.name ?? '', layer, features, k: Number(trainK), epochs: Number(trainEpochs), batchTokens: Number(trainBatch.replace(/,/g, '')), ...(trainName.trim() !== '' ? { name: trainName.trim() } : {}) });
      setTrainName('');
    } catch (caught) {
      setTrainError({ text: guiErrorText(caught, { controls: trainControls }), param: errorParam(caught) });
    }
  }

  async function importSae(): Promise<void> {
    setSaeError(null);
    const layer = saeLayer.trim() === '' ? undefined : Number(saeLayer);
    if (layer !== undefined && (!Number.isInteger(layer) || layer < 0)) {
      setSaeError("'Layer' must be a whole number (llama.cpp's 0-based l_out index), or empty to use what the SAE's files say.");
      return;
    }
    setSaeBusy(true);
    try {
      const sae = await api.call('saes.import', { path: saePath.trim(), ...(saeName.trim() !== '' ? { name: saeName.trim() } : {}), ...(layer !== undefined ? { layer } : {}) });
      setSaePath('');
      setSaeName('');
      setSaeLayer('');
      setParams({ sae: sae.name });
    } catch (caught) {
      setSaeError(guiErrorText(caught, { controls: importControls }));
    } finally {
      setSaeBusy(false);
    }
  }

  async function removeModel(name: string): Promise<void> {
    if (!confirm(`Forget the model '${name}'? The file stays where it is.`)) return;
    setListError(null);
    try {
      await api.call('models.remove', { name });
      if (params['model'] === name) setParams({});
    } catch (caught) {
      setListError(guiErrorText(caught, { controls: {} }));
    }
  }

  async function removeSae(name: string): Promise<void> {
    if (!confirm(`Remove the SAE '${name}' and its copy in the workspace?`)) return;
    setListError(null);
    try {
      await api.call('saes.remove', { name });
      if (params['sae'] === name) setParams({});
    } catch (caught) {
      setListError(guiErrorText(caught, { controls: {} }));
    }
  }

  const rowKeys = (open: () => void) => ({
    tabIndex: 0,
    onClick: open,
    onKeyDown: (event: React.KeyboardEvent) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        open();
      }
    },
  });
  const invalid = (param: string) => (trainError?.param === param ? { 'aria-invalid': true as const, className: 'narrow invalid' } : { className: 'narrow' });

  return (
    <div className="page models-page">
      <section className="panel">
        <h2>Add a model</h2>
        <div className="form-row">
          <label className="grow">
            GGUF file on the engine's machine
            <PathField value={path} onChange={setPath} extensions={['.gguf']} placeholder="/path/to/model.gguf — type to complete" testId="model-path" label="GGUF file" pick="model" />
          </label>
          <label>
            Name <input value={modelName} placeholder="from the file name" onChange={(event) => setModelName(event.target.value)} data-testid="model-name" />
          </label>
          <button type="button" className="primary" disabled={path.trim() === ''} title={path.trim() === '' ? "Type or pick a .gguf file in 'GGUF file' first" : undefined} onClick={() => void register()} data-testid="model-add">
            Register
          </button>
        </div>
        <ErrorBox text={registerError} testId="model-add-error" />
        <div className="form-row">
          <label className="grow">
            Or download
            <input className="wide" value={uri} placeholder="hf:user/repo:Q4_K_M, hf:user/repo/file.gguf or https://…/model.gguf" onChange={(event) => setUri(event.target.value)} data-testid="model-uri" />
          </label>
          <label>
            Name <input value={downloadName} placeholder="from the file name" onChange={(event) => setDownloadName(event.target.value)} data-testid="model-download-name" />
          </label>
          <button type="button" disabled={uri.trim() === ''} title={uri.trim() === '' ? "Type an address in 'Or download' first (hf:user/repo:Q4_K_M or https://…/model.gguf)" : undefined} onClick={() => void download()} data-testid="model-download">
            Download
          </button>
        </div>
        <p className="help">Downloads go into the workspace's models folder and are registered when complete; a cancelled or broken download leaves no file behind.</p>
        <ErrorBox text={downloadError} testId="model-download-error" />
        {addJobs.map((job) => (job.state === 'failed' || job.state === 'cancelled' ? <JobErrorCard key={job.id} job={job} context={{ controls: job.kind === 'model.pull' ? downloadControls : registerControls }} /> : <JobProgress key={job.id} job={job} />))}
      </section>

      <section className="panel">
        <h2>Models</h2>
        <ErrorBox text={listError} testId="registry-error" />
        {models.length === 0 ? (
          <p className="muted">No models registered yet. Add a LLaMA, Mistral or Qwen GGUF file above.</p>
        ) : (
          <table className="grid" data-testid="models-table">
            <thead>
              <tr>
                <th>name</th>
                <th>architecture</th>
                <th className="num">blocks</th>
                <th className="num">d_model</th>
                <th className="num">context</th>
                <th>quantization</th>
                <th>tokenizer</th>
                <th className="num">size</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {models.map((model) => (
                <tr key={model.id} data-testid="model-row" data-row-key={`model-${model.name}`} title={model.path} className={model.name === params['model'] ? 'selected' : ''} aria-selected={model.name === params['model']} {...rowKeys(() => setParams({ model: model.name }))}>
                  <td>{model.name}</td>
                  <td>{model.architecture}</td>
                  <td className="num">{formatCount(model.blockCount)}</td>
                  <td className="num">{formatCount(model.embeddingLength)}</td>
                  <td className="num">{formatCount(model.contextLength)}</td>
                  <td>{model.quantization}</td>
                  <td>{model.tokenizerModel ?? '–'}</td>
                  <td className="num">{formatBytes(model.sizeBytes)}</td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      data-testid="model-remove"
                      onClick={(event) => {
                        event.stopPropagation();
                        void removeModel(model.name);
                      }}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {models.length > 0 && openModel === null ? <p className="help">Choose a model to see what loading it takes.</p> : null}
      </section>

      {openModel !== null ? <ModelEstimatePanel model={openModel} /> : null}

      <QuantizePanel models={models} jobs={jobs} />

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
            <select value={chosenDataset?.name ?? ''} onChange={(event) => setTrainDataset(event.target.value)} data-testid="train-dataset">
              {datasets.map((dataset) => (
                <option key={dataset.id}>{dataset.name}</option>
              ))}
            </select>
          </label>
          <label title="llama.cpp 0-based block index: the residual stream after block L (l_out-L)">
            Layer <input {...invalid('layer')} value={trainLayer} placeholder={String(defaultLayer)} onChange={(event) => setTrainLayer(event.target.value)} data-testid="train-layer" />
          </label>
          <label>
            Features <input {...invalid('features')} value={trainFeatures} placeholder={formatCount(featuresDefault)} onChange={(event) => setTrainFeatures(event.target.value.replace(/,/g, ''))} data-testid="train-features" />
          </label>
          <label>
            K <input {...invalid('k')} value={trainK} onChange={(event) => setTrainK(event.target.value)} data-testid="train-k" />
          </label>
          <label>
            Epochs <input {...invalid('epochs')} value={trainEpochs} onChange={(event) => setTrainEpochs(event.target.value)} data-testid="train-epochs" />
          </label>
          <label title="tokens per optimiser step">
            Batch <input {...invalid('batchTokens')} value={trainBatch} onChange={(event) => setTrainBatch(event.target.value)} data-testid="train-batch" />
          </label>
          <label>
            SAE name <input className={trainError?.param === 'name' ? 'invalid' : ''} aria-invalid={trainError?.param === 'name' ? true : undefined} value={trainName} placeholder="automatic" title="Empty: named after the model, layer, features and K" onChange={(event) => setTrainName(event.target.value)} data-testid="train-name" />
          </label>
          <button type="button" className="primary" disabled={chosenModel === null || chosenDataset === null} title={chosenModel === null ? 'Register a model first' : chosenDataset === null ? 'Import a dataset first (Datasets page)' : undefined} onClick={() => void train()} data-testid="train-start">
            Train
          </button>
        </div>
        <p className="help" data-testid="train-defaults">
          {chosenModel !== null ? (
            <>
              Layer: 0 to {blocks !== null ? formatCount(blocks - 1) : '?'} (l_out after that block; empty = {defaultLayer}, the middle). Features: empty = {formatCount(featuresDefault)}, 16 × d_model {formatCount(chosenModel.embeddingLength)} (8–32 × is usual; the paper's 65,536 is for a 4,096-wide model). K: features active per token. Batch: tokens per step.
            </>
          ) : (
            'Register a model and import a dataset to train on.'
          )}{' '}
          Tied TopK with the paper's recipe (b_dec at the data mean, normalised MSE loss, Adam lr 1e-3); an interrupted run continues from its checkpoint.
        </p>
        <ErrorBox text={trainError?.text ?? null} testId="train-error" />
        {trainJobs.map((job) => (
          <div key={job.id} className="training-job">
            {job.state === 'failed' || job.state === 'cancelled' ? <JobErrorCard job={job} context={{ controls: trainControls }} /> : <JobProgress job={job} />}
            <TrainingCurves job={job} />
          </div>
        ))}
        {trainJobs.length === 0 && lastTraining !== undefined ? (
          <div className="training-job" data-testid="last-training">
            <div className="job-head">
              <span className="job-title">Last training: {lastTraining.title}</span>
              <span className="job-actions">
                <button type="button" data-testid="training-dismiss" onClick={() => void api.call('jobs.dismiss', { id: lastTraining.id })}>
                  Dismiss
                </button>
              </span>
            </div>
            <TrainingCurves job={lastTraining} />
          </div>
        ) : null}
      </section>

      <section className="panel">
        <h2>Sparse autoencoders</h2>
        <div className="form-row">
          <label className="grow">
            Import an SAE (folder or file on the engine's machine)
            <PathField value={saePath} onChange={setSaePath} extensions={saeExtensions} placeholder="SAELens / sparsify / Llama Scope / Gemma Scope folder, or a .pth" testId="sae-path" label="SAE folder or file" />
          </label>
          <label>
            Name <input value={saeName} placeholder="from the folder name" onChange={(event) => setSaeName(event.target.value)} data-testid="sae-name" />
          </label>
          <label title="llama.cpp 0-based l_out index; empty: what the SAE's files say">
            Layer <input className="narrow" value={saeLayer} placeholder="from files" onChange={(event) => setSaeLayer(event.target.value)} data-testid="sae-layer" />
          </label>
          <button type="button" className="primary" disabled={saePath.trim() === '' || saeBusy} title={saePath.trim() === '' ? "Type or pick an SAE folder or file first" : undefined} onClick={() => void importSae()} data-testid="sae-import">
            {saeBusy ? 'Importing…' : 'Import'}
          </button>
        </div>
        <ErrorBox text={saeError} testId="sae-import-error" />
        {saes.length === 0 ? (
          <p className="muted">No SAEs yet: import one above or train one.</p>
        ) : (
          <table className="grid" data-testid="saes-table">
            <thead>
              <tr>
                <th>name</th>
                <th>architecture</th>
                <th className="num">d_in → features</th>
                <th className="num">K</th>
                <th className="num">layer (l_out)</th>
                <th>trained on</th>
                <th>format</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {saes.map((sae) => (
                <tr key={sae.id} data-testid="sae-row" data-row-key={`sae-${sae.name}`} className={sae.name === params['sae'] ? 'selected' : ''} aria-selected={sae.name === params['sae']} {...rowKeys(() => setParams({ sae: sae.name }))}>
                  <td>{sae.name}</td>
                  <td>{sae.architecture}</td>
                  <td className="num">
                    {formatCount(sae.dIn)} → {formatCount(sae.dSae)}
                  </td>
                  <td className="num">{formatCount(sae.k)}</td>
                  <td className="num">{formatCount(sae.layer)}</td>
                  <td>{sae.modelFamily ?? '–'}</td>
                  <td>{sae.format}</td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      data-testid="sae-remove"
                      onClick={(event) => {
                        event.stopPropagation();
                        void removeSae(sae.name);
                      }}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
