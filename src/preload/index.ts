import { contextBridge, ipcRenderer } from 'electron';
import { desktopBridgeKey, ipcChannels, type DesktopBridge } from '../shared/api/desktopBridge.ts';
import type { WireMessage } from '../shared/api/wireMessages.ts';

// Main hands this window a MessagePort to the engine (again after an engine restart).
let port: MessagePort | undefined;
const receivers = new Set<(message: WireMessage) => void>();
const outbox: WireMessage[] = [];
const statusListeners = new Set<(status: 'up' | 'down') => void>();
let engineStatus: 'up' | 'down' | undefined;
function setEngineStatus(status: 'up' | 'down'): void {
  engineStatus = status;
  statusListeners.forEach((listener) => listener(status));
}

ipcRenderer.on(ipcChannels.port, (event) => {
  port?.close();
  port = event.ports[0];
  if (port === undefined) return;
  port.onmessage = (message) => receivers.forEach((receiver) => receiver(message.data as WireMessage));
  port.start();
  for (const message of outbox.splice(0)) port.postMessage(message);
  setEngineStatus('up');
});

ipcRenderer.on(ipcChannels.engineDown, () => {
  port?.close();
  port = undefined;
  setEngineStatus('down');
});

const bridge: DesktopBridge = {
  send: (message) => {
    if (port === undefined) outbox.push(message);
    else port.postMessage(message);
  },
  onMessage: (receiver) => {
    receivers.add(receiver);
    return () => receivers.delete(receiver);
  },
  onEngineStatus: (listener) => {
    statusListeners.add(listener);
    if (engineStatus !== undefined) listener(engineStatus);
    return () => statusListeners.delete(listener);
  },
  pickFile: (purpose) => ipcRenderer.invoke(ipcChannels.pickFile, purpose === 'model' ? 'model' : 'dataset') as Promise<string | null>,
};

contextBridge.exposeInMainWorld(desktopBridgeKey, bridge);
