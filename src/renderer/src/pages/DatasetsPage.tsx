import { useState } from 'react';
import type { SampleRow } from '../../../shared/datasetTypes.ts';
import { ImportPanel } from '../components/ImportPanel.tsx';
import { JobProgress } from '../components/JobProgress.tsx';
import { SampleDetail } from '../components/SampleDetail.tsx';
import { SampleTable } from '../components/SampleTable.tsx';
import { useDatasetsStore } from '../stores/useDatasetsStore.ts';
import { useJobsStore } from '../stores/useJobsStore.ts';

export function DatasetsPage() {
  const { datasets, selectedId, select, remove } = useDatasetsStore();
  const jobs = useJobsStore((state) => state.jobs);
  const [open, setOpen] = useState<SampleRow | null>(null);
  const imports = Object.values(jobs)
    .filter((job) => job.kind === 'dataset.import' && (job.state === 'queued' || job.state === 'running' || (Date.now() - Date.parse(job.updatedAt) < 60_000 && job.state !== 'done')))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const selected = datasets.find((dataset) => dataset.id === selectedId) ?? null;
  const ready = datasets.filter((dataset) => dataset.state === 'ready');

  return (
    <div className="page datasets-page">
      <ImportPanel />
      {imports.length > 0 ? (
        <section className="panel">
          {imports.map((job) => (
            <JobProgress key={job.id} job={job} />
          ))}
        </section>
      ) : null}
      <section className="panel">
        <h2>Datasets</h2>
        {ready.length === 0 ? (
          <p className="muted">No datasets yet. Import a JSONL, JSON, CSV or text file above.</p>
        ) : (
          <table className="grid" data-testid="datasets-table">
            <thead>
              <tr>
                <th>name</th>
                <th>role</th>
                <th>format</th>
                <th>samples</th>
                <th>duplicates</th>
                <th>invalid skipped</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {ready.map((dataset) => (
                <tr key={dataset.id} className={dataset.id === selectedId ? 'selected' : ''} data-testid="dataset-row" data-name={dataset.name} onClick={() => select(dataset.id)}>
                  <td>{dataset.name}</td>
                  <td>{dataset.role}</td>
                  <td>{dataset.format}</td>
                  <td data-testid="dataset-count">{dataset.sampleCount}</td>
                  <td>{dataset.duplicateCount}</td>
                  <td>{dataset.invalidCount}</td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      onClick={(event) => {
                        event.stopPropagation();
                        if (confirm(`Remove dataset '${dataset.name}' and its ${dataset.sampleCount} samples?`)) void remove(dataset.id);
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
      {selected !== null ? (
        <section className="panel samples-panel">
          <h2>
            {selected.name} <span className="muted">· {selected.sampleCount.toLocaleString()} samples</span>
          </h2>
          <div className="samples-split">
            <SampleTable dataset={selected} onOpen={setOpen} />
            {open !== null ? <SampleDetail sample={open} onClose={() => setOpen(null)} /> : null}
          </div>
        </section>
      ) : null}
    </div>
  );
}
