import { ApiClient, type WireChannel } from '../../../shared/api/ApiClient.ts';
import { desktopBridgeKey, type DesktopBridge } from '../../../shared/api/desktopBridge.ts';
import { isWireMessage, type WireMessage } from '../../../shared/api/wireMessages.ts';

/**
 * `refused`: a browser that never got a connection (most likely a token from an earlier run);
 * `no-token`: the page's address carries no access token at all, so no connection is tried.
 */
export type ConnectionStatus = 'open' | 'closed' | 'refused' | 'no-token';

export interface Connection {
  client: ApiClient;
  /** Desktop: the preload bridge (native file dialog). Browser: undefined (uploads instead). */
  desktop: DesktopBridge | undefined;
  /** Browser only: the per-run token from the URL, needed for uploads. */
  token: string | undefined;
  /** Hears the current status at once, then every change; each `open` means: reload the snapshot. */
  onStatus(listener: (status: ConnectionStatus) => void): void;
}

function desktopBridge(): DesktopBridge | undefined {
  return (window as unknown as Record<string, DesktopBridge | undefined>)[desktopBridgeKey];
}

/** A WebSocket wire channel that reconnects after a drop (the engine keeps its state). */
function webSocketChannel(token: string, onStatus: (status: ConnectionStatus) => void, onDrop: () => void): WireChannel {
  const receivers = new Set<(message: WireMessage) => void>();
  const outbox: string[] = [];
  let socket: WebSocket;
  let everOpened = false;
  let failedAttempts = 0;
  const open = (): void => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${location.host}/api/ws?token=${encodeURIComponent(token)}`);
    socket.onopen = () => {
      everOpened = true;
      failedAttempts = 0;
      onStatus('open');
      for (const text of outbox.splice(0)) socket.send(text);
    };
    socket.onmessage = (event) => {
      const message: unknown = JSON.parse(String(event.data));
      if (isWireMessage(message)) receivers.forEach((receiver) => receiver(message));
    };
    socket.onclose = () => {
      // Requests already failed to their callers must not run after a reconnect.
      outbox.length = 0;
      onDrop();
      failedAttempts += 1;
      onStatus(!everOpened && failedAttempts >= 3 ? 'refused' : 'closed');
      setTimeout(open, Math.min(10_000, 1000 * failedAttempts));
    };
  };
  open();
  return {
    send: (message) => {
      const text = JSON.stringify(message);
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
      else outbox.push(text);
    },
    onMessage: (receiver) => {
      receivers.add(receiver);
      return () => receivers.delete(receiver);
    },
  };
}

/** Connects to the engine: through the preload bridge in Electron, a WebSocket in a browser. */
export function connectApi(): Connection {
  const statusListeners = new Set<(status: ConnectionStatus) => void>();
  let current: ConnectionStatus | undefined;
  const emitStatus = (status: ConnectionStatus): void => {
    current = status;
    statusListeners.forEach((listener) => listener(status));
  };
  const onStatus = (listener: (status: ConnectionStatus) => void): void => {
    statusListeners.add(listener);
    if (current !== undefined) listener(current);
  };
  const desktop = desktopBridge();
  if (desktop !== undefined) {
    const client = new ApiClient({ send: desktop.send, onMessage: desktop.onMessage });
    // Main restarts a crashed engine and hands over a new port: calls to the old one never
    // return, so they fail now, and the stores reload their snapshot when it is back.
    desktop.onEngineStatus((status) => {
      if (status === 'down') {
        client.failPending('The Facet engine stopped; it is being restarted.');
        emitStatus('closed');
      } else emitStatus('open');
    });
    return { client, desktop, token: undefined, onStatus };
  }
  const token = new URLSearchParams(location.search).get('token') ?? '';
  if (token === '') {
    // an address without ?token= (typed by hand, or a link shared without it) can never connect
    const client = new ApiClient({ send: () => undefined, onMessage: () => () => undefined });
    emitStatus('no-token');
    return { client, desktop: undefined, token: undefined, onStatus };
  }
  const channel = webSocketChannel(token, emitStatus, () => client.failPending('The connection to the Facet engine dropped; reconnecting.'));
  const client = new ApiClient(channel);
  return { client, desktop: undefined, token, onStatus };
}

/** Browser: uploads a file into the engine's workspace and returns its path there. */
export async function uploadFile(token: string, file: File): Promise<string> {
  const response = await fetch(`/api/upload?token=${encodeURIComponent(token)}&name=${encodeURIComponent(file.name)}`, { method: 'POST', body: file });
  const body = (await response.json()) as { path?: string; error?: { message: string } };
  if (!response.ok || body.path === undefined) throw new Error(body.error?.message ?? `Upload failed (${response.status}).`);
  return body.path;
}
