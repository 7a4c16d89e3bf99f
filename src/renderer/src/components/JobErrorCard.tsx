import { useState } from 'react';
import { formatDuration } from '../../../shared/formatNumber.ts';
import type { JobSnapshot } from '../../../shared/jobTypes.ts';
import { api } from '../api/connection.ts';
import { guiErrorText, shownJobTitle, type GuiErrorContext } from '../guiErrorText.ts';

/**
 * A job that stopped early, told in the form's words (see {@link guiErrorText}): what failed,
 * why, which control to change, with Retry (same settings; checkpoints are kept) and Dismiss.
 */
export function JobErrorCard({ job, context, title }: { job: JobSnapshot; context: GuiErrorContext; title?: string }) {
  const [actionError, setActionError] = useState<string | null>(null);
  const act = (method: 'jobs.resume' | 'jobs.dismiss') => () => {
    setActionError(null);
    api.call(method, { id: job.id }).catch((error: unknown) => setActionError(guiErrorText(error, context)));
  };
  // an upload's copy on the server is named after the user's file, made safe: show the user's own name
  const shownTitle = shownJobTitle(title ?? job.title, context.files ?? {});
  const text = job.state === 'cancelled' ? 'Cancelled; nothing was kept.' : guiErrorText(job.error ?? { message: 'Failed.' }, context);
  return (
    <div className={`job job-${job.state}`} data-testid="job-failed" data-job-id={job.id} data-state={job.state}>
      <div className="job-head">
        <span className="job-title">{shownTitle}</span>
        <span className="job-state">{job.state}</span>
      </div>
      <div className="job-when muted">
        started {new Date(job.createdAt).toLocaleString()} · stopped after {formatDuration(Date.parse(job.updatedAt) - Date.parse(job.createdAt))}
      </div>
      <div className={job.state === 'cancelled' ? 'help' : 'error'} role="alert" data-testid="job-error">
        {text}
      </div>
      <div className="job-meta">
        <button type="button" data-testid="job-retry" onClick={act('jobs.resume')}>
          Retry
        </button>
        <button type="button" data-testid="job-dismiss" onClick={act('jobs.dismiss')}>
          Dismiss
        </button>
      </div>
      {actionError !== null ? <div className="error">{actionError}</div> : null}
    </div>
  );
}
