import { useState } from 'react';
import { isFinished } from '../../../shared/jobTypes.ts';
import { JobProgress } from '../components/JobProgress.tsx';
import { useJobsStore } from '../stores/useJobsStore.ts';

/** Every job of the workspace, newest first; finished ones can be cleared from the view. */
export function JobsPage() {
  const [clearedBefore, setClearedBefore] = useState<string | null>(null);
  const all = Object.values(useJobsStore((state) => state.jobs)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const jobs = all.filter((job) => clearedBefore === null || !isFinished(job.state) || job.interrupted || job.updatedAt > clearedBefore);
  const finished = jobs.filter((job) => isFinished(job.state) && !job.interrupted).length;
  return (
    <div className="page">
      <section className="panel" data-testid="jobs-list">
        <div className="form-row">
          <h2 className="inline">Jobs</h2>
          <button type="button" disabled={finished === 0} onClick={() => setClearedBefore(new Date().toISOString())} data-testid="jobs-clear">
            Clear finished ({finished})
          </button>
          {clearedBefore !== null ? (
            <button type="button" onClick={() => setClearedBefore(null)} data-testid="jobs-show-all">
              Show all ({all.length})
            </button>
          ) : null}
        </div>
        {jobs.length === 0 ? <p className="muted">No jobs to show. Long work (imports, captures, training, explanations, synthesis) shows up here with live progress.</p> : null}
        {jobs.map((job) => (
          <JobProgress key={job.id} job={job} />
        ))}
      </section>
    </div>
  );
}
