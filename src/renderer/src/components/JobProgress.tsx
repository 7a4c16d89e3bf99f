import { useState } from 'react';
import { formatCount, formatDuration, formatRate } from '../../../shared/formatNumber.ts';
import type { JobSnapshot } from '../../../shared/jobTypes.ts';
import { isActive, isFinished, jobDurationMs, jobResultLink, jobStatus, jobUnit, resumeKind } from '../../../shared/jobTypes.ts';
import { guiErrorText, shownJobTitle } from '../guiErrorText.ts';
import { uploadedFileNames } from './ImportPanel.tsx';
import { useJobsStore } from '../stores/useJobsStore.ts';
import { useNavigationStore } from '../stores/useNavigationStore.ts';

const statusLabels: Record<ReturnType<typeof jobStatus>, string> = {
  queued: 'queued',
  running: 'running',
  done: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
  cancelling: 'cancelling…',
  interrupted: 'interrupted',
};

/**
 * One job's live state: kind, start and duration, progress bar with units, rate and ETA, error;
 * Cancel while it runs (disabled, "Cancelling…", once asked), Resume / Retry when it stopped
 * early, Dismiss when it finished, and a link to what it produced.
 */
export function JobProgress({ job, selected = false }: { job: JobSnapshot; selected?: boolean }) {
  const { cancel, resume, dismiss } = useJobsStore.getState();
  const go = useNavigationStore((state) => state.go);
  const [actionError, setActionError] = useState<string | null>(null);
  const status = jobStatus(job);
  const active = isActive(job);
  const cancelling = status === 'cancelling';
  // a gzipped import counts the compressed bytes read (its records are not known until the end)
  const unit = job.kind === 'dataset.import' && /\.gz\b/.test(job.title) ? 'bytes read (gzip)' : jobUnit(job.kind);
  // a job that reported no counts (steering, reports) shows none rather than "0 steps"
  const counted = job.done > 0 || (job.total !== null && job.total > 0) || active;
  const share = job.total ? Math.min(1, job.done / job.total) : job.state === 'done' ? 1 : 0;
  const link = jobResultLink(job);
  const again = resumeKind(job);
  const act = (action: () => Promise<void>) => () => {
    setActionError(null);
    action().catch((error: unknown) => setActionError(guiErrorText(error, { controls: {} })));
  };
  return (
    <div className={`job job-${job.state} job-status-${status}${selected ? ' job-selected' : ''}`} data-testid="job" data-job-id={job.id} data-state={job.state} data-status={status}>
      <div className="job-head">
        <span className="job-title">{shownJobTitle(job.title, uploadedFileNames())}</span>
        <span className="job-state" data-testid="job-state">
          {statusLabels[status]}
          {job.dismissedAt !== null ? ' · dismissed' : ''}
        </span>
      </div>
      <div className="job-when muted" data-testid="job-when">
        {job.kind} · started {new Date(job.createdAt).toLocaleString()} · {active ? 'running for' : 'took'} {formatDuration(jobDurationMs(job, Date.now()))}
      </div>
      <div className="progress" role="progressbar" aria-label="progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(share * 100)}>
        <div className="progress-fill" style={{ width: `${(share * 100).toFixed(1)}%` }} />
      </div>
      <div className="job-meta">
        {counted ? (
          <span data-testid="job-done">
            {formatCount(job.done)}
            {job.total !== null ? ` / ${formatCount(job.total)}` : ''} {unit}
          </span>
        ) : null}
        {job.rate !== null && active ? <span>{formatRate(job.rate, unit)}</span> : null}
        {active && job.etaSeconds !== null ? <span>{formatDuration(job.etaSeconds * 1000)} left</span> : null}
        <span className="job-actions">
          {link !== null ? (
            <a className="job-result" data-testid="job-result" href={`#/${link.page}?${new URLSearchParams(link.params).toString()}`} onClick={(event) => { event.preventDefault(); go(link.page, link.params); }}>
              Open {link.label}
            </a>
          ) : null}
          {active || job.interrupted ? (
            <button type="button" className="danger" data-testid="job-cancel" disabled={cancelling} title={cancelling ? 'Cancel was asked for; the job stops at its next check.' : undefined} onClick={act(() => cancel(job.id))}>
              {cancelling ? 'Cancelling…' : 'Cancel'}
            </button>
          ) : null}
          {again !== null ? (
            <button
              type="button"
              data-testid="job-resume"
              title={again === 'resume' ? 'Continue from its last checkpoint' : 'Run it again with the same settings (training and indexing continue from their checkpoints)'}
              onClick={act(() => resume(job.id))}
            >
              {job.state === 'failed' ? 'Retry' : 'Resume'}
            </button>
          ) : null}
          {isFinished(job.state) && job.dismissedAt === null ? (
            <button type="button" data-testid="job-dismiss" onClick={act(() => dismiss(job.id))}>
              Dismiss
            </button>
          ) : null}
        </span>
      </div>
      {job.error !== null ? (
        <div className="error" data-testid="job-error">
          {/* in the GUI's words: CLI-only advice (flags, `facet jobs resume`) is dropped; the buttons above do that */}
          {guiErrorText({ ...job.error, message: job.error.message }, { controls: {}, files: uploadedFileNames() })} <span className="error-code">{job.error.code}</span>
        </div>
      ) : null}
      {actionError !== null ? (
        <div className="error" data-testid="job-action-error">
          {actionError}
        </div>
      ) : null}
    </div>
  );
}
