import type { JobSnapshot } from '../../../shared/jobTypes.ts';
import { api } from '../api/connection.ts';
import { useJobsStore } from '../stores/useJobsStore.ts';

function formatEta(seconds: number | null): string {
  if (seconds === null) return '';
  if (seconds < 60) return `ETA ${Math.ceil(seconds)}s`;
  return `ETA ${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`;
}

function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/** One job's live state: kind, start and duration, progress bar, rate, ETA, error, and Cancel while it can be cancelled. */
export function JobProgress({ job }: { job: JobSnapshot }) {
  const cancel = useJobsStore((state) => state.cancel);
  const share = job.total ? Math.min(1, job.done / job.total) : job.state === 'done' ? 1 : 0;
  const active = (job.state === 'queued' || job.state === 'running') && !job.interrupted;
  return (
    <div className={`job job-${job.state}`} data-testid="job" data-job-id={job.id} data-state={job.state}>
      <div className="job-head">
        <span className="job-title">{job.title}</span>
        <span className="job-state" data-testid="job-state">
          {job.interrupted ? `${job.state}, interrupted` : job.state}
        </span>
      </div>
      <div className="job-when muted" data-testid="job-when">
        {job.kind} · started {new Date(job.createdAt).toLocaleString()} · {active ? 'running for' : 'took'} {formatDuration((active ? Date.now() : Date.parse(job.updatedAt)) - Date.parse(job.createdAt))}
      </div>
      <div className="progress" aria-label="progress">
        <div className="progress-fill" style={{ width: `${(share * 100).toFixed(1)}%` }} />
      </div>
      <div className="job-meta">
        <span>
          {job.done.toLocaleString()}
          {job.total !== null ? ` / ${job.total.toLocaleString()}` : ''}
        </span>
        {job.rate !== null && active ? <span>{Math.round(job.rate).toLocaleString()}/s</span> : null}
        {active ? <span>{formatEta(job.etaSeconds)}</span> : null}
        {active || job.interrupted ? (
          <button type="button" className="danger" data-testid="job-cancel" onClick={() => void cancel(job.id)}>
            Cancel
          </button>
        ) : null}
        {job.interrupted ? (
          <button type="button" data-testid="job-resume" onClick={() => void api.call('jobs.resume', { id: job.id })}>
            Resume
          </button>
        ) : null}
      </div>
      {job.error !== null ? (
        <div className="error" data-testid="job-error">
          [{job.error.code}] {job.error.message}
        </div>
      ) : null}
    </div>
  );
}
