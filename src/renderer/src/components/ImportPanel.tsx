import { useState } from 'react';
import { datasetFormats, datasetRoles, type DatasetFormat, type DatasetRole } from '../../../shared/datasetTypes.ts';
import { api, connection } from '../api/connection.ts';
import { uploadFile } from '../api/connectApi.ts';
import { guiErrorText } from '../guiErrorText.ts';

/** The import form's controls by request parameter, for errors in its words. */
export const importControls = { path: 'Choose File', name: 'Name', format: 'Format', role: 'Role', skipInvalid: 'Skip invalid rows' };

const uploadsKey = 'facet:uploadedFileNames';

/** Uploads of this browser session: the path on the engine's machine → the name of the file the user chose. */
export function uploadedFileNames(): Record<string, string> {
  try {
    return JSON.parse(sessionStorage.getItem(uploadsKey) ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

function rememberUpload(path: string, name: string): void {
  try {
    sessionStorage.setItem(uploadsKey, JSON.stringify({ ...uploadedFileNames(), [path]: name }));
  } catch {
    // storage disabled: errors then show the uploaded copy's name, which is the file name made safe
  }
}

/** Pick a file (native dialog on the desktop, upload in a browser) and start an import job. */
export function ImportPanel() {
  const [file, setFile] = useState<File | null>(null);
  const [path, setPath] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [format, setFormat] = useState<DatasetFormat | 'auto'>('auto');
  const [role, setRole] = useState<DatasetRole>('seed');
  const [skipInvalid, setSkipInvalid] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Remounting the file input clears the browser's own selection after an import starts.
  const [inputKey, setInputKey] = useState(0);
  const desktop = connection.desktop;
  const chosen = desktop !== undefined ? path : file?.name;

  async function start(): Promise<void> {
    setError(null);
    setBusy(true);
    try {
      let source = path;
      if (desktop === undefined) {
        if (file === null) throw new Error('Choose a file first.');
        source = await uploadFile(connection.token ?? '', file);
        rememberUpload(source, file.name);
      }
      if (source === null) throw new Error('Choose a file first.');
      const defaultName = (file?.name ?? source.split(/[\\/]/).pop() ?? 'dataset').replace(/\.gz$/i, '').replace(/\.(jsonl|ndjson|json|csv|txt)$/i, '');
      await api.call('datasets.import', { path: source, name: name.trim() || defaultName, format, role, skipInvalid });
      setFile(null);
      setPath(null);
      setName('');
      setInputKey((key) => key + 1);
    } catch (caught) {
      setError(guiErrorText(caught, { controls: importControls, files: uploadedFileNames() }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="panel" data-testid="import-panel">
      <h2>Import a dataset</h2>
      <div className="form-row">
        {desktop !== undefined ? (
          <button type="button" onClick={() => void desktop.pickFile('dataset').then(setPath)}>
            Choose File
          </button>
        ) : (
          <input key={inputKey} type="file" data-testid="import-file" accept=".jsonl,.json,.csv,.txt,.gz,.ndjson" onChange={(event) => setFile(event.target.files?.[0] ?? null)} />
        )}
        <span className="muted">{chosen ?? 'JSONL, JSON array, CSV or text; .gz is fine'}</span>
      </div>
      <div className="form-row">
        <label>
          Name <input value={name} placeholder="from the file name" onChange={(event) => setName(event.target.value)} data-testid="import-name" />
        </label>
        <label>
          Format
          <select value={format} onChange={(event) => setFormat(event.target.value as DatasetFormat | 'auto')} data-testid="import-format">
            {['auto', ...datasetFormats].map((value) => (
              <option key={value}>{value}</option>
            ))}
          </select>
        </label>
        <label>
          Role
          <select value={role} onChange={(event) => setRole(event.target.value as DatasetRole)} data-testid="import-role">
            {datasetRoles.filter((value) => value !== 'synthetic').map((value) => (
              <option key={value}>{value}</option>
            ))}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={skipInvalid} onChange={(event) => setSkipInvalid(event.target.checked)} data-testid="import-skip-invalid" /> Skip invalid rows
        </label>
        <button type="button" className="primary" disabled={busy || chosen == null} title={chosen == null ? "Choose a file first with 'Choose File'" : undefined} onClick={() => void start()} data-testid="import-start">
          {busy ? 'Starting…' : 'Import'}
        </button>
      </div>
      {error !== null ? (
        <div className="error" data-testid="import-error">
          {error}
        </div>
      ) : null}
    </section>
  );
}
