import type { JobSnapshot } from '../../shared/jobTypes.ts';
import { isFinished } from '../../shared/jobTypes.ts';
import type { Store } from '../store/Store.ts';
import { JobRepository } from './JobRepository.ts';

/** Rate measured from what the watcher saw of a job another process runs. */
interface Observed {
  done: number;
  at: number;
}

/**
 * Sees the jobs that other processes (a CLI in the same workspace, a job's own process) create
 * and update, and hands each changed job to `publish` as a snapshot, so `facet serve` and the
 * desktop engine show them live. Cheap when nothing happens: every `intervalMs` it reads SQLite's
 * `PRAGMA data_version`, which changes only when another connection commits; only then does it
 * read one short change mark per recent job and re-read the jobs whose mark changed. Rate and ETA
 * of a job run elsewhere are measured from the progress seen here.
 */
export class JobTableWatcher {
  private readonly repository: JobRepository;
  private readonly marks = new Map<string, string>();
  private readonly observed = new Map<string, Observed>();
  private dataVersion: number;
  /** Unfinished jobs of other processes, and whether they were seen interrupted (owner dead). */
  private readonly foreign = new Map<string, boolean>();
  private lastOwnerCheck = 0;
  private readonly ownerCheckMs: number;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly store: Store;
  private readonly snapshotOf: (id: string) => JobSnapshot;
  private readonly publish: (job: JobSnapshot) => void;

  constructor(store: Store, snapshotOf: (id: string) => JobSnapshot, publish: (job: JobSnapshot) => void, intervalMs = 250, ownerCheckMs = 2000) {
    this.ownerCheckMs = ownerCheckMs;
    this.store = store;
    this.snapshotOf = snapshotOf;
    this.publish = publish;
    this.repository = new JobRepository(store.db);
    this.dataVersion = this.readDataVersion();
    for (const { id, mark } of this.repository.marks()) this.marks.set(id, mark);
    this.timer = setInterval(() => this.poll(), intervalMs);
    this.timer.unref();
  }

  /**
   * Checks once (the timer calls this); returns the jobs published. Every `ownerCheckMs` it also
   * looks whether the process running an unfinished job has died (a CLI killed mid-job writes
   * nothing more), so such a job turns *interrupted* here without waiting for another change.
   */
  poll(now = Date.now()): JobSnapshot[] {
    const published: JobSnapshot[] = [];
    const version = this.readDataVersion();
    if (version !== this.dataVersion) {
      this.dataVersion = version;
      for (const { id, mark } of this.repository.marks()) {
        if (this.marks.get(id) === mark) continue;
        this.marks.set(id, mark);
        published.push(this.withRate(this.snapshotOf(id)));
      }
    }
    if (now - this.lastOwnerCheck >= this.ownerCheckMs) {
      this.lastOwnerCheck = now;
      const unfinished = this.repository.unfinished().filter((record) => record.ownerPid !== process.pid);
      const current = new Set(unfinished.map((record) => record.id));
      for (const id of this.foreign.keys()) if (!current.has(id)) this.foreign.delete(id);
      for (const record of unfinished) {
        const job = this.snapshotOf(record.id);
        const seen = this.foreign.get(record.id);
        this.foreign.set(record.id, job.interrupted);
        // newly interrupted (also when first seen so: it may have been shown running), or running again
        const changed = job.interrupted ? seen !== true : seen === true;
        if (changed && !published.some((entry) => entry.id === job.id)) published.push(job);
      }
    }
    for (const job of published) this.publish(job);
    return published;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private readDataVersion(): number {
    return this.store.db.pragma('data_version', { simple: true }) as number;
  }

  private withRate(job: JobSnapshot): JobSnapshot {
    if (isFinished(job.state) || job.interrupted) {
      this.observed.delete(job.id);
      return job;
    }
    if (job.rate !== null) return job; // run by this process: the runner measured it
    const now = Date.now();
    const first = this.observed.get(job.id);
    if (first === undefined || job.done < first.done) {
      this.observed.set(job.id, { done: job.done, at: now });
      return job;
    }
    const seconds = (now - first.at) / 1000;
    if (seconds < 0.1 || job.done === first.done) return job;
    const rate = (job.done - first.done) / seconds;
    return { ...job, rate, etaSeconds: job.total !== null ? Math.max(0, (job.total - job.done) / rate) : null };
  }
}
