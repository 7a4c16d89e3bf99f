import { JobProgress } from '../components/JobProgress.tsx';
import { useJobsStore } from '../stores/useJobsStore.ts';

export function JobsPage() {
  const jobs = Object.values(useJobsStore((state) => state.jobs)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return (
    <div className="page">
      <section className="panel" data-testid="jobs-list">
        <h2>Jobs</h2>
        {jobs.length === 0 ? <p className="muted">No jobs yet. Long work (imports, captures, training) shows up here with live progress.</p> : null}
        {jobs.map((job) => (
          <JobProgress key={job.id} job={job} />
        ))}
      </section>
    </div>
  );
}
