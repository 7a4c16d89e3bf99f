import { contextBridge, ipcRenderer } from 'electron';
import { desktopBridgeKey, ipcChannels, type DesktopBridge } from '../shared/api/desktopBridge.ts';
import type { WireMessage } from '../shared/api/wireMessages.ts';

// Main hands this window a MessagePort to the engine (again after an engine restart).
let port: MessagePort | undefined;
const receivers = new Set<(message: WireMessage) => void>();
const outbox: WireMessage[] = [];

ipcRenderer.on(ipcChannels.port, (event) => {
  port?.close();
  port = event.ports[0];
  if (port === undefined) return;
  port.onmessage = (message) => receivers.forEach((receiver) => receiver(message.data as WireMessage));
  port.start();
  for (const message of outbox.splice(0)) port.postMessage(message);
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
  pickFile: (purpose) => ipcRenderer.invoke(ipcChannels.pickFile, purpose === 'model' ? 'model' : 'dataset') as Promise<string | null>,
};

contextBridge.exposeInMainWorld(desktopBridgeKey, bridge);
