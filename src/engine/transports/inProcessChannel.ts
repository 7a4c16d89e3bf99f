import type { WireChannel } from '../../shared/api/ApiClient.ts';
import type { WireMessage } from '../../shared/api/wireMessages.ts';
import type { FacetEngine } from '../FacetEngine.ts';
import { serveWireChannel } from './serveWireChannel.ts';

/**
 * A wire channel connected to an engine in the same process, for code that wants the
 * transport-shaped API (an {@link ApiClient}) without a process boundary. Messages are cloned as
 * they would be on a real transport, so nothing shares mutable state across the boundary.
 */
export function createInProcessChannel(engine: FacetEngine): WireChannel & { close(): void } {
  const toClient = new Set<(message: WireMessage) => void>();
  const toEngine = new Set<(message: WireMessage) => void>();
  const deliver = (receivers: Set<(message: WireMessage) => void>, message: WireMessage): void => {
    const copy = structuredClone(message);
    queueMicrotask(() => receivers.forEach((receiver) => receiver(copy)));
  };
  const detach = serveWireChannel(engine, {
    send: (message) => deliver(toClient, message),
    onMessage: (receiver) => {
      toEngine.add(receiver);
      return () => toEngine.delete(receiver);
    },
  });
  return {
    send: (message) => deliver(toEngine, message),
    onMessage: (receiver) => {
      toClient.add(receiver);
      return () => toClient.delete(receiver);
    },
    close: detach,
  };
}
