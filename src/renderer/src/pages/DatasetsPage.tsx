import { useEffect, useState } from 'react';
import { datasetRoles, type DatasetRole, type DatasetSummary, type SampleRow } from '../../../shared/datasetTypes.ts';
import { formatCount } from '../../../shared/formatNumber.ts';
import { api } from '../api/connection.ts';
import { ImportPanel, importControls, uploadedFileNames } from '../components/ImportPanel.tsx';
import { JobErrorCard } from '../components/JobErrorCard.tsx';
import { JobProgress } from '../components/JobProgress.tsx';
import { SampleDetail } from '../components/SampleDetail.tsx';
import { SampleSearch } from '../components/SampleSearch.tsx';
import { SampleSearchResults } from '../components/SampleSearchResults.tsx';
import { SampleTable } from '../components/SampleTable.tsx';
import { guiErrorText } from '../guiErrorText.ts';
import { useDatasetsStore } from '../stores/useDatasetsStore.ts';
import { useJobsStore } from '../stores/useJobsStore.ts';
import { useNavigationStore } from '../stores/useNavigationStore.ts';

const roleHelp: Record<DatasetRole, string> = {
  seed: 'the set whose coverage is measured and extended',
  anchor: 'the reference set whose features should be covered',
  eval: 'held out, for evaluation',
  synthetic: 'written by FAC Synthesis',
};

/** A dataset's role as a menu (seed, anchor, eval); synthetic sets keep theirs. */
function RoleSelect({ dataset, onError }: { dataset: DatasetSummary; onError(text: string | null): void }) {
  if (dataset.role === 'synthetic') return <span title={roleHelp.synthetic}>synthetic</span>;
  return (
    <select
      value={dataset.role}
      aria-label={`Role of ${dataset.name}`}
      title={roleHelp[dataset.role]}
      data-testid="dataset-role"
      onClick={(event) => event.stopPropagation()}
      onKeyDown={(event) => event.stopPropagation()}
      onChange={(event) => {
        onError(null);
        api.call('datasets.setRole', { id: dataset.id, role: event.target.value as DatasetRole }).catch((caught: unknown) => onError(guiErrorText(caught, { controls: { role: 'Role' } })));
      }}
    >
      {datasetRoles
        .filter((role) => role !== 'synthetic')
        .map((role) => (
          <option key={role} value={role}>
            {role}
          </option>
        ))}
    </select>
  );
}

/** Datasets: import, list with roles, samples (virtual table or search results) and one sample in full; the open dataset and sample are in the URL. */
export function DatasetsPage() {
  const { datasets, selectedId, select, remove } = useDatasetsStore();
  const jobs = useJobsStore((state) => state.jobs);
  const setParams = useNavigationStore((state) => state.setParams);
  const [open, setOpen] = useState<SampleRow | null>(null);
  const [tableError, setTableError] = useState<string | null>(null);
  // #/Datasets?dataset=3&sample=12 (also from a feature's span) opens that dataset and sample
  const linkedDataset = useNavigationStore((state) => state.params['dataset']);
  const linkedSample = useNavigationStore((state) => state.params['sample']);
  const linkedQuery = useNavigationStore((state) => state.params['q']) ?? '';
  useEffect(() => {
    const id = Number(linkedDataset);
    if (linkedDataset === undefined || !Number.isInteger(id) || id <= 0) {
      select(null);
      setOpen(null);
      return;
    }
    select(id);
    const ordinal = Number(linkedSample);
    if (linkedSample === undefined || !Number.isInteger(ordinal) || ordinal < 0) {
      setOpen(null);
      return;
    }
    let stale = false;
    api.call('datasets.samples', { id, offset: ordinal, limit: 1 }).then(
      (result) => !stale && setOpen(result.samples[0]?.ordinal === ordinal ? result.samples[0] : null),
      () => !stale && setOpen(null),
    );
    return () => {
      stale = true;
    };
  }, [linkedDataset, linkedSample, select]);
  const imports = Object.values(jobs)
    .filter((job) => job.kind === 'dataset.import' && (job.state === 'queued' || job.state === 'running' || ((job.state === 'failed' || job.state === 'cancelled') && job.dismissedAt === null && Date.now() - Date.parse(job.updatedAt) < 3_600_000)))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const selected = datasets.find((dataset) => dataset.id === selectedId) ?? null;
  const ready = datasets.filter((dataset) => dataset.state === 'ready');
  const openDataset = (id: number) => setParams({ dataset: String(id) });
  const openSample = (sample: SampleRow) => selected && setParams({ dataset: String(selected.id), sample: String(sample.ordinal), ...(linkedQuery !== '' ? { q: linkedQuery } : {}) });

  return (
    <div className="page datasets-page">
      <ImportPanel />
      {imports.length > 0 ? (
        <section className="panel">
          {imports.map((job) =>
            job.state === 'failed' || job.state === 'cancelled' ? (
              <JobErrorCard key={job.id} job={job} context={{ controls: importControls, files: uploadedFileNames() }} />
            ) : (
              <JobProgress key={job.id} job={job} />
            ),
          )}
        </section>
      ) : null}
      <section className="panel">
        <h2>Datasets</h2>
        {tableError !== null ? (
          <div className="error" role="alert" data-testid="datasets-error">
            {tableError}
          </div>
        ) : null}
        {ready.length === 0 ? (
          <p className="muted">No datasets yet. Import a JSONL, JSON, CSV or text file above.</p>
        ) : (
          <table className="grid" data-testid="datasets-table">
            <thead>
              <tr>
                <th>name</th>
                <th>role</th>
                <th>format</th>
                <th className="num">samples</th>
                <th className="num">duplicates</th>
                <th className="num">invalid skipped</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {ready.map((dataset) => (
                <tr
                  key={dataset.id}
                  className={dataset.id === selectedId ? 'selected' : ''}
                  aria-selected={dataset.id === selectedId}
                  tabIndex={0}
                  data-testid="dataset-row"
                  data-name={dataset.name}
                  onClick={() => openDataset(dataset.id)}
                  onKeyDown={(event) => {
                    if (event.key === 'Enter' || event.key === ' ') {
                      event.preventDefault();
                      openDataset(dataset.id);
                    }
                  }}
                >
                  <td>{dataset.name}</td>
                  <td>
                    <RoleSelect dataset={dataset} onError={setTableError} />
                  </td>
                  <td>{dataset.format}</td>
                  <td className="num" data-testid="dataset-count">
                    {formatCount(dataset.sampleCount)}
                  </td>
                  <td className="num">{formatCount(dataset.duplicateCount)}</td>
                  <td className="num">{formatCount(dataset.invalidCount)}</td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      onClick={(event) => {
                        event.stopPropagation();
                        if (confirm(`Remove dataset '${dataset.name}' and its ${formatCount(dataset.sampleCount)} samples?`)) {
                          if (dataset.id === selectedId) setParams({});
                          void remove(dataset.id);
                        }
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
            {selected.name} <span className="muted">· {formatCount(selected.sampleCount)} samples</span>
          </h2>
          <SampleSearch key={selected.id} query={linkedQuery} onQuery={(q) => setParams({ dataset: String(selected.id), ...(q !== '' ? { q } : {}) })} />
          <div className="samples-split">
            {linkedQuery === '' ? (
              <SampleTable dataset={selected} onOpen={openSample} openOrdinal={open?.ordinal ?? null} />
            ) : (
              <SampleSearchResults dataset={selected} query={linkedQuery} onOpen={openSample} openOrdinal={open?.ordinal ?? null} />
            )}
            {open !== null ? <SampleDetail sample={open} onClose={() => setParams({ dataset: String(selected.id), ...(linkedQuery !== '' ? { q: linkedQuery } : {}) })} /> : null}
          </div>
        </section>
      ) : null}
    </div>
  );
}
