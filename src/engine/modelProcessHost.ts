import type { ChildProcess } from 'node:child_process';
import { FacetError, type WireError } from '../shared/FacetError.ts';
import type { Store } from '../core/store/Store.ts';
import { forkProcessEntry, processEntryPath } from './jobProcessLauncher.ts';
import { modelOfCall, type ModelCallArgs, type ModelCallName, type ModelCallResult, type ModelCalls } from './modelProcessCalls.ts';

interface PendingCall {
  call: ModelCallName;
  args: unknown;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

export interface ModelProcessHostOptions {
  /** The model process program; defaults to {@link processEntryPath}('model'). */
  entry?: string;
  /** A model process with no call for this long lets its model go and exits. Defaults to 5 minutes. */
  idleMs?: number;
  /**
   * Live model processes kept at most: starting one more first lets the longest-idle one go (a
   * busy one is never stopped for this). Defaults to 2, so two models a person alternates
   * between stay loaded but a tour of many does not pile them up in memory.
   */
  maxProcesses?: number;
}

/**
 * Runs the engine's model calls ({@link modelProcessCalls}) in long-lived processes, one per
 * model: the first call for a model starts its process ({@link modelProcessEntry}), which keeps
 * what it loaded for the next call; calls to one process run one after another. A process that
 * dies (a llama.cpp assert aborts it) costs that process and the call it was running, which
 * fails with MODEL_PROCESS_CRASHED naming the model and the call; calls queued behind it go to a
 * fresh process, as does the next request. The engine itself keeps running.
 */
export class ModelProcessHost implements ModelCalls {
  private readonly processes = new Map<string, ModelProcess>();
  private readonly entry: string;
  private readonly idleMs: number;
  private readonly maxProcesses: number;
  private readonly home: string;
  private readonly store: Store;
  private closed = false;

  constructor(home: string, store: Store, options: ModelProcessHostOptions = {}) {
    this.home = home;
    this.store = store;
    this.entry = options.entry ?? processEntryPath('model');
    this.idleMs = options.idleMs ?? 5 * 60_000;
    this.maxProcesses = options.maxProcesses ?? 2;
  }

  run<N extends ModelCallName>(call: N, args: ModelCallArgs<N>): Promise<ModelCallResult<N>> {
    if (this.closed) return Promise.reject(new FacetError('CANCELLED', 'The engine is closing.'));
    const model = modelOfCall(this.store, call, args);
    return new Promise((resolve, reject) => {
      this.dispatch(model, [{ call, args, resolve: resolve as (result: unknown) => void, reject }]);
    });
  }

  /** Process ids of the live model processes by model (for tests and the benchmark). */
  pids(): Map<string, number> {
    return new Map([...this.processes].flatMap(([model, process]) => (process.pid === undefined ? [] : [[model, process.pid] as [string, number]])));
  }

  /** Milliseconds from fork to the process's ready message, of the live process for `model` (undefined until it is ready). */
  startupMs(model: string): number | undefined {
    return this.processes.get(model)?.startupMs;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.processes.values()].map((process) => process.stop()));
    this.processes.clear();
  }

  private dispatch(model: string, calls: PendingCall[]): void {
    if (calls.length === 0) return;
    if (this.closed) {
      for (const pending of calls) pending.reject(new FacetError('CANCELLED', 'The engine is closing.'));
      return;
    }
    let process = this.processes.get(model);
    if (process === undefined || process.stopping) {
      const live = [...this.processes.values()].filter((other) => !other.stopping);
      const idle = live.filter((other) => other.idle).sort((a, b) => a.lastUsed - b.lastUsed);
      for (let count = live.length; count >= this.maxProcesses && idle.length > 0; count--) void idle.shift()!.stop();
      process = new ModelProcess(this.entry, this.home, model, this.idleMs, (gone, leftOver) => {
        if (this.processes.get(model) === gone) this.processes.delete(model);
        this.dispatch(model, leftOver);
      });
      this.processes.set(model, process);
    }
    for (const pending of calls) process.enqueue(pending);
  }
}

/** One model's process and its queue of calls. */
class ModelProcess {
  private readonly child: ChildProcess;
  private readonly queue: PendingCall[] = [];
  private current: { id: number; pending: PendingCall } | undefined;
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Let go (idle or engine closing): takes no more calls. */
  stopping = false;
  /** When it last finished or took a call (performance.now()). */
  lastUsed = performance.now();
  private readonly exited: Promise<void>;
  readonly pid: number | undefined;
  /** Fork to ready, once the process said it is ready. */
  startupMs: number | undefined;
  private readonly model: string;
  private readonly idleMs: number;

  constructor(entry: string, home: string, model: string, idleMs: number, onGone: (process: ModelProcess, leftOver: PendingCall[]) => void) {
    this.model = model;
    this.idleMs = idleMs;
    const forkedAt = performance.now();
    this.child = forkProcessEntry(entry, [home, model], { serialization: 'advanced' });
    this.pid = this.child.pid;
    this.child.on('message', (message: { type?: string; id?: number; ok?: boolean; result?: unknown; error?: WireError }) => {
      if (message.type === 'ready') this.startupMs = performance.now() - forkedAt;
      if (message.type !== 'result' || this.current === undefined || message.id !== this.current.id) return;
      const { pending } = this.current;
      this.current = undefined;
      if (message.ok === true) pending.resolve(message.result);
      else pending.reject(FacetError.fromWire(message.error!));
      this.pump();
    });
    this.exited = new Promise((resolve) => {
      let done = false;
      const gone = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (done) return;
        done = true;
        clearTimeout(this.idleTimer);
        const current = this.current;
        this.current = undefined;
        if (current !== undefined) current.pending.reject(this.stopping ? new FacetError('CANCELLED', 'The engine closed while this model call ran.') : crashedError(this.model, current.pending.call, code, signal));
        onGone(this, this.queue.splice(0));
        resolve();
      };
      this.child.once('exit', gone);
      this.child.once('error', () => gone(-1, null));
    });
  }

  /** No call running or queued. */
  get idle(): boolean {
    return this.current === undefined && this.queue.length === 0;
  }

  enqueue(pending: PendingCall): void {
    this.queue.push(pending);
    this.pump();
  }

  private pump(): void {
    clearTimeout(this.idleTimer);
    this.lastUsed = performance.now();
    if (this.current !== undefined) return;
    const pending = this.queue.shift();
    if (pending === undefined) {
      this.idleTimer = setTimeout(() => void this.stop(), this.idleMs);
      this.idleTimer.unref();
      return;
    }
    this.current = { id: this.nextId++, pending };
    try {
      this.child.send({ type: 'call', id: this.current.id, call: pending.call, args: pending.args });
    } catch {
      // the channel is already closed: the exit handler fails the call as a crash
    }
  }

  /** Lets the process go: it frees its models and exits (killed if it does not within 10 s). */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      if (this.child.connected) this.child.disconnect();
      const kill = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      kill.unref();
      await this.exited;
      clearTimeout(kill);
    }
    await this.exited;
  }
}

function crashedError(model: string, call: ModelCallName, code: number | null, signal: NodeJS.Signals | null): FacetError {
  const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
  return new FacetError(
    'MODEL_PROCESS_CRASHED',
    `The model process for ${model} ${how} during '${call}': a native crash in llama.cpp or onnxruntime, most likely on this model or input. Facet kept running; this request failed and the next one starts a fresh model process. Run Facet with FACET_LLAMA_LOG=1 to see llama.cpp's log.`,
    { model, call, signal, exitCode: code },
  );
}
