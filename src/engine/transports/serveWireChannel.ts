import type { WireChannel } from '../../shared/api/ApiClient.ts';
import type { FacetEngine } from '../FacetEngine.ts';

/**
 * Answers requests arriving on a wire channel and forwards engine events to it. The same code
 * serves Electron's MessagePort and browsers' WebSockets. Returns a function that detaches.
 */
export function serveWireChannel(engine: FacetEngine, channel: WireChannel): () => void {
  const unsubscribeEvents = engine.subscribe((event) => channel.send({ type: 'event', event: event.event, payload: event.payload }));
  const unsubscribeMessages = channel.onMessage((message) => {
    if (message.type !== 'request') return;
    void engine.callForWire(message.method, message.params).then((reply) => {
      channel.send(reply.ok ? { type: 'response', id: message.id, ok: true, result: reply.result } : { type: 'response', id: message.id, ok: false, error: reply.error });
    });
  });
  return () => {
    unsubscribeEvents();
    unsubscribeMessages();
  };
}
