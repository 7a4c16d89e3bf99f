import type { WebSocket } from 'ws';
import { isWireMessage, type WireMessage } from '../../shared/api/wireMessages.ts';
import type { FacetEngine } from '../FacetEngine.ts';
import { serveWireChannel } from './serveWireChannel.ts';

/** Serves the engine API to one browser over a WebSocket (JSON text frames). */
export function serveWebSocket(engine: FacetEngine, socket: WebSocket): void {
  const detach = serveWireChannel(engine, {
    send: (message: WireMessage) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    },
    onMessage: (receiver) => {
      const handler = (data: unknown): void => {
        let message: unknown;
        try {
          message = JSON.parse(String(data));
        } catch {
          return;
        }
        if (isWireMessage(message)) receiver(message);
      };
      socket.on('message', handler);
      return () => socket.off('message', handler);
    },
  });
  socket.on('close', detach);
}
