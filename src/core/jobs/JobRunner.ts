import { randomUUID } from 'node:crypto';
import { FacetError, isAbortError, toWireError, type WireError } from '../../shared/FacetError.ts';
import type { JobSnapshot } from '../../shared/jobTypes.ts';
import { isFinished } from '../../shared/jobTypes.ts';
import type { Store } from '../store/Store.ts';
import { JobRepository, type JobRecord } from './JobRepository.ts';

/** What a running job sees. */
export interface JobContext<Checkpoint> {
  id: string;
  signal: AbortSignal;
  /** The last checkpoint saved by an earlier run of this job (after a crash), else undefined. */
  checkpoint: Checkpoint | undefined;
  /**
   * Records progress. With a checkpoint, call it inside the same SQLite transaction as the
   * batch of writes it describes, so a crash keeps both or neither.
   */
  progress(done: number, total?: number | null, checkpoint?: Checkpoint): void;
}

export interface JobDefinition<Params, Checkpoint, Result> {
  kind: string;
  title(params: Params): string;
  run(params: Params, ctx: JobContext<Checkpoint>): Promise<Result>;
}

// Definitions are stored type-erased; `register` and `submit` keep callers typed.
type AnyJobDefinition = JobDefinition<any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface RunningJob {
  controller: AbortController;
  /** Polls for a cancel requested by another process. */
  cancelWatch: ReturnType<typeof setInterval>;
  runStartedAt: number;
  doneAtRunStart: number;
  promise: Promise<void>;
}

export type JobListener = (job: JobSnapshot) => void;

/** How a job's own process ended. */
export interface JobProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs jobs of some kinds in a process of their own (see {@link JobRunner.runClaimed}), so a
 * native crash (a llama.cpp assert, a segfault) costs that job, not the process that runs the
 * runner. The engine supplies it; the runner stays free of process details.
 */
export interface JobProcessLauncher {
  isolates(kind: string): boolean;
  /** Starts a process that runs the already-claimed job `id` and resolves when it exits. */
  launch(id: string): { exited: Promise<JobProcessExit>; kill(signal: NodeJS.Signals): void };
}

/** Failed-job codes that {@link JobRunner.resume} retries on request. */
const retriableCrashCodes = new Set(['JOB_CRASHED', 'MODEL_PROCESS_CRASHED']);

/**
 * Runs long operations as jobs persisted in SQLite: state, progress, checkpoints, cancellation.
 * A job left `running` by a process that died can be resumed from its last checkpoint.
 */
export class JobRunner {
  private readonly repository: JobRepository;
  private readonly definitions = new Map<string, AnyJobDefinition>();
  private readonly running = new Map<string, RunningJob>();
  private readonly listeners = new Set<JobListener>();
  private readonly lastEmit = new Map<string, number>();
  private readonly queue: string[] = [];
  private readonly concurrency: number;

  private readonly processes: JobProcessLauncher | undefined;

  constructor(store: Store, options: { concurrency?: number; processes?: JobProcessLauncher } = {}) {
    this.repository = new JobRepository(store.db);
    this.concurrency = options.concurrency ?? 2;
    this.processes = options.processes;
  }

  register<P, C, R>(definition: JobDefinition<P, C, R>): void {
    this.definitions.set(definition.kind, definition as AnyJobDefinition);
  }

  subscribe(listener: JobListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Queues a job and starts it when a slot is free. */
  submit<P>(kind: string, params: P): JobSnapshot {
    const definition = this.definition(kind);
    const id = randomUUID();
    this.repository.insert(id, kind, definition.title(params), params, process.pid, new Date().toISOString());
    this.queue.push(id);
    this.emit(id, true);
    this.pump();
    return this.get(id);
  }

  get(id: string): JobSnapshot {
    const record = this.repository.get(id);
    if (record === undefined) throw new FacetError('JOB_NOT_FOUND', `No job with id ${id}. List jobs with 'facet jobs list'.`, { id });
    return this.snapshot(record);
  }

  list(limit?: number): JobSnapshot[] {
    return this.repository.list(limit).map((record) => this.snapshot(record));
  }

  /** The parameters a job was submitted with. */
  paramsOf(id: string): unknown {
    const record = this.repository.get(id);
    if (record === undefined) throw new FacetError('JOB_NOT_FOUND', `No job with id ${id}.`, { id });
    return record.params;
  }

  /** Jobs left queued or running by a process that is no longer alive. */
  interrupted(): JobSnapshot[] {
    return this.repository
      .unfinished()
      .filter((record) => !this.running.has(record.id) && !this.queue.includes(record.id) && !isProcessAlive(record.ownerPid))
      .map((record) => this.snapshot(record));
  }

  /**
   * Restarts an interrupted job from its last checkpoint; also retries a job that was failed
   * because its process kept dying ({@link resumeInterrupted}). A job that was running when its
   * process died has the crash counted in its error (`JOB_CRASHED`, `details.crashes`).
   */
  resume(id: string): JobSnapshot {
    const record = this.repository.get(id);
    if (record === undefined) throw new FacetError('JOB_NOT_FOUND', `No job with id ${id}.`, { id });
    const stale = (record.state === 'running' || record.state === 'queued') && !this.running.has(id) && !this.queue.includes(id) && !isProcessAlive(record.ownerPid);
    const crashedOut = record.state === 'failed' && retriableCrashCodes.has(record.error?.code ?? '');
    const restartable = record.state === 'cancelled' || (record.state === 'failed' && !crashedOut);
    if (!stale && !crashedOut && !restartable) {
      throw new FacetError('JOB_NOT_RESUMABLE', `Job ${id} is ${record.state}${isProcessAlive(record.ownerPid) ? ` in process ${record.ownerPid}` : ''}; only jobs interrupted by a crash or kill, cancelled or failed can be resumed.`, { id, state: record.state });
    }
    this.definition(record.kind);
    if (restartable) return this.restart(id);
    if (stale) this.recordCrash(record);
    return this.requeue(id);
  }

  /** Runs a cancelled or failed job again from the start, same id and parameters (see {@link JobRepository.restart}). */
  private restart(id: string): JobSnapshot {
    this.repository.restart(id, process.pid, new Date().toISOString());
    this.queue.push(id);
    this.emit(id, true);
    this.pump();
    return this.get(id);
  }

  /**
   * Hides a finished job from the job lists of every shell (persisted). An active job must be
   * cancelled first: JOB_NOT_FINISHED.
   */
  dismiss(id: string): JobSnapshot {
    const job = this.get(id);
    if (!isFinished(job.state)) {
      throw new FacetError('JOB_NOT_FINISHED', `Job ${id} (${job.title}) is ${job.cancelRequested ? 'cancelling' : job.interrupted ? 'interrupted' : job.state}; only done, failed or cancelled jobs can be dismissed. Cancel it first, then dismiss it.`, { id, state: job.state });
    }
    this.repository.dismiss(id, new Date().toISOString());
    this.emit(id, true);
    return this.get(id);
  }

  /** Dismisses every finished job; returns them. */
  dismissFinished(): JobSnapshot[] {
    const ids = this.repository.dismissFinished(new Date().toISOString());
    for (const id of ids) this.emit(id, true);
    return ids.map((id) => this.get(id));
  }

  /** Hands a snapshot to the listeners: for jobs another process changed (see JobTableWatcher). */
  publish(job: JobSnapshot): void {
    for (const listener of this.listeners) listener(job);
  }

  private requeue(id: string): JobSnapshot {
    this.repository.setState(id, 'queued', process.pid, new Date().toISOString());
    this.queue.push(id);
    this.emit(id, true);
    this.pump();
    return this.get(id);
  }

  /**
   * What an engine does at start: resumes each interrupted job, except one whose process has now
   * died {@link maxCrashes} times while running it: that one is marked failed with `JOB_CRASHED`
   * (the reason and how to retry) instead, so a job that aborts its process cannot crash-loop
   * the engine. Returns the jobs resumed and the jobs failed.
   */
  resumeInterrupted(): { resumed: JobSnapshot[]; failed: JobSnapshot[] } {
    const resumed: JobSnapshot[] = [];
    const failed: JobSnapshot[] = [];
    for (const job of this.interrupted()) {
      const record = this.repository.get(job.id);
      if (record === undefined) continue;
      const crashes = this.recordCrash(record);
      if (crashes >= JobRunner.maxCrashes) {
        this.repository.finish(job.id, 'failed', null, this.repository.get(job.id)?.error ?? null, new Date().toISOString());
        this.emit(job.id, true);
        failed.push(this.get(job.id));
      } else {
        this.definition(record.kind);
        resumed.push(this.requeue(job.id));
      }
    }
    return { resumed, failed };
  }

  /** Deaths of a job's process while running it after which the job is no longer resumed at start. */
  static readonly maxCrashes = 2;

  /**
   * Counts one more crash on a job whose owner died while it was `running` (a job still only
   * queued did not crash anything) and writes it into the job's error; returns the count. Done
   * once per interruption: the record then names this process as owner.
   */
  private recordCrash(record: JobRecord): number {
    const previous = record.error?.code === 'JOB_CRASHED' ? Number(record.error.details?.crashes ?? 0) : 0;
    if (record.state !== 'running' || isProcessAlive(record.ownerPid)) return previous;
    const crashes = previous + 1;
    const retry = `Once the cause is fixed, retry it with \`facet jobs resume ${record.id}\`.`;
    const message =
      crashes >= JobRunner.maxCrashes
        ? `The process running this job died ${crashes} times while running it (last seen at ${record.updatedAt}, ${record.done}${record.total !== null ? `/${record.total}` : ''} done), so it is not resumed automatically: it could take Facet down again. Check its input (a model or file llama.cpp aborts on?) and run it with FACET_LLAMA_LOG=1 to see the native error. ${retry}`
        : `The process running this job died while running it (last seen at ${record.updatedAt}); it was resumed from its last checkpoint.`;
    this.repository.setError(record.id, { code: 'JOB_CRASHED', message, details: { crashes, lastSeenAt: record.updatedAt, done: record.done } }, new Date().toISOString());
    record.error = { code: 'JOB_CRASHED', message, details: { crashes } };
    return crashes;
  }

  /**
   * Cancels a job. A job of this process stops at once (queued) or at its next check (running);
   * a job another live process owns is asked to stop (it polls the request), so the returned
   * snapshot may still say running; a job whose process died is marked cancelled.
   */
  cancel(id: string): JobSnapshot {
    const record = this.repository.get(id);
    if (record === undefined) throw new FacetError('JOB_NOT_FOUND', `No job with id ${id}.`, { id });
    const running = this.running.get(id);
    // a second cancel of a job already stopping changes nothing (and announces nothing: a
    // subscriber that cancels on an update would otherwise recurse)
    if (running !== undefined && running.controller.signal.aborted) return this.get(id);
    if (running !== undefined) {
      this.repository.requestCancel(id); // shown as cancelling until the job stops
      running.controller.abort();
      this.emit(id, true);
    } else if (!isFinished(record.state)) {
      const queued = this.queue.indexOf(id);
      if (queued >= 0 || !isProcessAlive(record.ownerPid)) {
        if (queued >= 0) this.queue.splice(queued, 1);
        this.repository.finish(id, 'cancelled', null, null, new Date().toISOString());
        this.emit(id, true);
      } else {
        this.repository.requestCancel(id);
        this.emit(id, true);
      }
    }
    return this.get(id);
  }

  /** The process running or holding a job, when it is another live process. */
  ownerElsewhere(id: string): number | null {
    const record = this.repository.get(id);
    if (record === undefined || isFinished(record.state) || record.ownerPid === process.pid || !isProcessAlive(record.ownerPid)) return null;
    return record.ownerPid;
  }

  /** Resolves with the final snapshot once the job has finished. */
  async wait(id: string): Promise<JobSnapshot> {
    for (;;) {
      const running = this.running.get(id);
      if (running !== undefined) await running.promise;
      const job = this.get(id);
      if (isFinished(job.state)) return job;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Cancels every running job and waits for them to stop. */
  async close(): Promise<void> {
    this.queue.length = 0;
    const all = [...this.running.values()];
    for (const job of all) job.controller.abort();
    await Promise.allSettled(all.map((job) => job.promise));
  }

  private definition(kind: string): AnyJobDefinition {
    const definition = this.definitions.get(kind);
    if (definition === undefined) throw new FacetError('INVALID_ARGUMENT', `Unknown job kind '${kind}'.`, { kind });
    return definition;
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.queue.length > 0) {
      const id = this.queue.shift() as string;
      this.start(id);
    }
  }

  private start(id: string): void {
    // Another process may have cancelled, resumed or finished the job since it was queued here.
    if (!this.repository.claim(id, process.pid, new Date().toISOString())) {
      this.emit(id, true);
      return;
    }
    const record = this.repository.get(id);
    if (record === undefined) return;
    const definition = this.definition(record.kind);
    if (this.repository.cancelRequested(id)) {
      this.repository.finish(id, 'cancelled', null, null, new Date().toISOString());
      this.emit(id, true);
      this.pump();
      return;
    }
    if (this.processes?.isolates(record.kind) === true) this.executeElsewhere(id, record, this.processes);
    else this.execute(id, record, definition);
  }

  /**
   * Runs a job this process has claimed (state running), here: what a job's own process does
   * when the engine that claimed it launched it ({@link JobProcessLauncher}). Resolves when the
   * job has finished.
   */
  async runClaimed(id: string): Promise<JobSnapshot> {
    const record = this.repository.get(id);
    if (record === undefined) throw new FacetError('JOB_NOT_FOUND', `No job with id ${id}.`, { id });
    if (record.state !== 'running') throw new FacetError('JOB_NOT_RESUMABLE', `Job ${id} is ${record.state}, not claimed for running.`, { id, state: record.state });
    this.execute(id, record, this.definition(record.kind));
    return this.wait(id);
  }

  /** Runs the job in its own process; a death of that process fails the job with MODEL_PROCESS_CRASHED. */
  private executeElsewhere(id: string, record: JobRecord, processes: JobProcessLauncher): void {
    const controller = new AbortController();
    const child = processes.launch(id);
    let killTimer: NodeJS.Timeout | undefined;
    controller.signal.addEventListener('abort', () => {
      this.repository.requestCancel(id); // the job's process polls this and stops at its next check
      killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    }, { once: true });
    // follow the job's progress, which its process writes to the database
    let lastUpdate = record.updatedAt;
    const cancelWatch = setInterval(() => {
      const now = this.repository.get(id);
      if (now !== undefined && now.updatedAt !== lastUpdate) {
        lastUpdate = now.updatedAt;
        this.emit(id, false);
      }
    }, 250);
    cancelWatch.unref();
    const entry: RunningJob = { controller, cancelWatch, runStartedAt: Date.now(), doneAtRunStart: record.done, promise: Promise.resolve() };
    this.running.set(id, entry);
    this.emit(id, true);
    entry.promise = (async () => {
      try {
        const exit = await child.exited;
        const after = this.repository.get(id);
        if (after !== undefined && !isFinished(after.state)) {
          if (controller.signal.aborted) this.repository.finish(id, 'cancelled', null, null, new Date().toISOString());
          else this.repository.finish(id, 'failed', null, processCrashedError(after, exit), new Date().toISOString());
        }
      } finally {
        clearTimeout(killTimer);
        clearInterval(cancelWatch);
        this.running.delete(id);
        this.emit(id, true);
        this.lastEmit.delete(id);
        this.pump();
      }
    })();
  }

  private execute(id: string, record: JobRecord, definition: AnyJobDefinition): void {
    const controller = new AbortController();
    const cancelWatch = setInterval(() => {
      if (this.repository.cancelRequested(id)) controller.abort();
    }, 500);
    cancelWatch.unref();
    const entry: RunningJob = { controller, cancelWatch, runStartedAt: Date.now(), doneAtRunStart: record.done, promise: Promise.resolve() };
    this.running.set(id, entry);
    this.emit(id, true);
    const ctx: JobContext<unknown> = {
      id,
      signal: controller.signal,
      checkpoint: record.checkpoint ?? undefined,
      progress: (done, total, checkpoint) => {
        this.repository.progress(id, done, total ?? null, new Date().toISOString(), checkpoint);
        this.emit(id, false);
      },
    };
    entry.promise = (async () => {
      try {
        const result = await definition.run(record.params, ctx);
        this.repository.finish(id, 'done', result ?? null, null, new Date().toISOString());
      } catch (error) {
        const cancelled = isAbortError(error) || controller.signal.aborted;
        this.repository.finish(id, cancelled ? 'cancelled' : 'failed', null, cancelled ? null : toWireError(error), new Date().toISOString());
      } finally {
        clearInterval(cancelWatch);
        this.running.delete(id);
        this.emit(id, true);
        this.lastEmit.delete(id);
        this.pump();
      }
    })();
  }

  private snapshot(record: JobRecord): JobSnapshot {
    const running = this.running.get(record.id);
    let rate: number | null = null;
    let etaSeconds: number | null = null;
    if (running !== undefined) {
      const seconds = (Date.now() - running.runStartedAt) / 1000;
      const done = record.done - running.doneAtRunStart;
      if (seconds > 0.2 && done > 0) {
        rate = done / seconds;
        if (record.total !== null) etaSeconds = Math.max(0, (record.total - record.done) / rate);
      }
    }
    return {
      id: record.id,
      kind: record.kind,
      title: record.title,
      state: record.state,
      done: record.done,
      total: record.total,
      rate,
      etaSeconds,
      result: record.result,
      error: record.error,
      interrupted: (record.state === 'running' || record.state === 'queued') && running === undefined && !this.queue.includes(record.id) && !isProcessAlive(record.ownerPid),
      cancelRequested: record.cancelRequested && !isFinished(record.state),
      dismissedAt: record.dismissedAt,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }

  /** Pushes a snapshot to listeners; progress-only updates are throttled to ~10 per second per job. */
  private emit(id: string, force: boolean): void {
    if (this.listeners.size === 0) return;
    const now = Date.now();
    if (!force && now - (this.lastEmit.get(id) ?? 0) < 100) return;
    this.lastEmit.set(id, now);
    const snapshot = this.get(id);
    for (const listener of this.listeners) listener(snapshot);
  }
}

/** The error of a job whose own process died before it finished: names the model (if any), the signal and the last progress. */
function processCrashedError(record: JobRecord, exit: JobProcessExit): WireError {
  const params = (record.params ?? {}) as { model?: unknown };
  const model = typeof params.model === 'string' ? params.model : null;
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const progress = `${record.done}${record.total !== null ? `/${record.total}` : ''} done, last progress at ${record.updatedAt}`;
  return {
    code: 'MODEL_PROCESS_CRASHED',
    message: `The process running '${record.title}'${model !== null ? ` with model ${model}` : ''} ${how} (${progress}): a native crash in llama.cpp or onnxruntime, most likely on its model or input. Facet kept running; this job stopped. Run it with FACET_LLAMA_LOG=1 to see llama.cpp's log, fix the input, then retry with \`facet jobs resume ${record.id}\`.`,
    details: { id: record.id, kind: record.kind, model, signal: exit.signal, exitCode: exit.code, done: record.done, total: record.total, lastProgressAt: record.updatedAt },
  };
}

function isProcessAlive(pid: number | null): boolean {
  if (pid === null) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
