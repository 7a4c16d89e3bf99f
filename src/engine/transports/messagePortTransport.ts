import { isWireMessage } from '../../shared/api/wireMessages.ts';
import type { FacetEngine } from '../FacetEngine.ts';
import { serveWireChannel } from './serveWireChannel.ts';

/**
 * The part of Electron's MessagePortMain (and of Node's MessagePort) the engine uses; declared
 * structurally so the engine never imports electron.
 */
export interface PortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off?(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  start(): void;
}

/** Serves the engine API to one renderer window over a MessagePort handed over by Electron main. */
export function serveMessagePort(engine: FacetEngine, port: PortLike): void {
  const detach = serveWireChannel(engine, {
    send: (message) => port.postMessage(message),
    onMessage: (receiver) => {
      const listener = (event: { data: unknown }): void => {
        if (isWireMessage(event.data)) receiver(event.data);
      };
      port.on('message', listener);
      return () => port.off?.('message', listener);
    },
  });
  port.on('close', detach);
  port.start();
}
