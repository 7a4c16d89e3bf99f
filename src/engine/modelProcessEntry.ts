/**
 * A model process ({@link ModelProcessHost}): `node modelProcessEntry.ts <home> <model>` opens the
 * workspace, says `{ type: 'ready' }`, and answers the engine's model calls over IPC, one at a
 * time: `{ type: 'call', id, call, args }` → `{ type: 'result', id, ok, result | error }`. What a call
 * loads (the chat model) stays loaded for the next call. When the engine goes away or lets the
 * process go (its IPC channel closes), it frees its models and exits.
 *
 * Testing hook: with `FACET_MODEL_PROCESS_ABORT_AT=<call name>` in its environment, the process
 * calls `process.abort()` when that call arrives: the same SIGABRT a failed GGML_ASSERT raises.
 * `<call name>@<file>` aborts only while that file exists, removing it first (so once).
 */
import { rmSync } from 'node:fs';
import { toWireError } from '../shared/FacetError.ts';
import { Store } from '../core/store/Store.ts';
import { databasePath } from '../core/workspace/resolveFacetHome.ts';
import { disposeModelCallState, isModelCallName, runModelCall, type ModelCallContext } from './modelProcessCalls.ts';

const [home] = process.argv.slice(2);
if (home === undefined || process.send === undefined) {
  process.stderr.write('usage: modelProcessEntry.ts <home> <model>, started by the engine with an IPC channel\n');
  process.exit(2);
}
const send = (message: unknown): void => void process.send?.(message);
const ctx: ModelCallContext = { store: Store.open(databasePath(home)), home, state: {} };
const [abortAt, abortFlag] = (process.env['FACET_MODEL_PROCESS_ABORT_AT'] ?? '').split('@');
const abortsAt = (call: unknown): boolean => {
  if (abortAt === '' || call !== abortAt) return false;
  if (abortFlag === undefined) return true;
  try {
    rmSync(abortFlag);
    return true;
  } catch {
    return false;
  }
};

let queue: Promise<void> = Promise.resolve();
process.on('message', (message: { type?: string; id?: number; call?: unknown; args?: unknown }) => {
  if (message.type !== 'call' || typeof message.id !== 'number') return;
  const { id, call, args } = message;
  queue = queue.then(async () => {
    if (abortsAt(call)) process.abort();
    try {
      if (!isModelCallName(call)) throw new Error(`unknown model call ${String(call)}`);
      send({ type: 'result', id, ok: true, result: await runModelCall(ctx, call, args) });
    } catch (error) {
      send({ type: 'result', id, ok: false, error: toWireError(error) });
    }
  });
});
send({ type: 'ready' });
process.once('disconnect', () => {
  void queue
    .then(() => disposeModelCallState(ctx.state))
    .finally(() => {
      ctx.store.close();
      process.exit(0);
    });
});
