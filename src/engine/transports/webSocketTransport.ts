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
  // A protocol error (oversized or invalid frame, bad UTF-8, reserved opcode, bad close code):
  // ws already closes this socket with the matching close code (1009, 1007, 1002) and then emits
  // 'error'; without a listener that error would be thrown and take the whole server down.
  socket.on('error', () => undefined);
}
