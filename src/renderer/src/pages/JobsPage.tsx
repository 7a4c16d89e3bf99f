import { useEffect, useState } from 'react';
import { isActive, isFinished } from '../../../shared/jobTypes.ts';
import { JobProgress } from '../components/JobProgress.tsx';
import { useJobsStore } from '../stores/useJobsStore.ts';
import { useNavigationStore } from '../stores/useNavigationStore.ts';

/**
 * Every job of the workspace, whichever shell started it (a CLI in the same workspace too),
 * newest first. Finished jobs can be dismissed one by one or all at once, in every shell;
 * dismissed ones can be shown again. `#/Jobs?job=<id>` opens the page at one job.
 */
export function JobsPage() {
  const all = Object.values(useJobsStore((state) => state.jobs)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const dismissFinished = useJobsStore((state) => state.dismissFinished);
  const params = useNavigationStore((state) => state.params);
  const setParams = useNavigationStore((state) => state.setParams);
  const showDismissed = params['dismissed'] === 'shown';
  const selected = params['job'] ?? null;
  const [error, setError] = useState<string | null>(null);
  const dismissedCount = all.filter((job) => job.dismissedAt !== null).length;
  const jobs = all.filter((job) => showDismissed || job.dismissedAt === null || job.id === selected);
  const finished = all.filter((job) => isFinished(job.state) && job.dismissedAt === null).length;
  const anyActive = all.some(isActive);

  // "running for" counts up while a job runs
  const [, tick] = useState(0);
  useEffect(() => {
    if (!anyActive) return undefined;
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [anyActive]);

  useEffect(() => {
    if (selected !== null) document.querySelector(`[data-job-id="${CSS.escape(selected)}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [selected]);

  return (
    <div className="page">
      <section className="panel" data-testid="jobs-list">
        <div className="form-row jobs-toolbar">
          <h2 className="inline">Jobs</h2>
          <button
            type="button"
            disabled={finished === 0}
            onClick={() => {
              setError(null);
              dismissFinished().catch((cause: unknown) => setError(cause instanceof Error ? cause.message : String(cause)));
            }}
            data-testid="jobs-clear"
          >
            Dismiss finished ({finished})
          </button>
          {dismissedCount > 0 ? (
            <button type="button" onClick={() => setParams({ ...params, dismissed: showDismissed ? '' : 'shown' })} data-testid="jobs-show-all" aria-pressed={showDismissed}>
              {showDismissed ? 'Hide dismissed' : `Show dismissed (${dismissedCount})`}
            </button>
          ) : null}
        </div>
        {error !== null ? <div className="error">{error}</div> : null}
        {jobs.length === 0 ? <p className="muted">No jobs to show. Long work (imports, captures, training, indexing, coverage, explanations, synthesis), started here or from the facet command line in the same workspace, shows up here with live progress.</p> : null}
        {jobs.map((job) => (
          <JobProgress key={job.id} job={job} selected={job.id === selected} />
        ))}
      </section>
    </div>
  );
}
