import type { WireMessage } from './wireMessages.ts';

/**
 * What the preload script exposes to the renderer as `window.facetDesktop`: named functions
 * only, never ipcRenderer itself.
 */
export interface DesktopBridge {
  /** Sends a wire message to the engine over the window's MessagePort. */
  send(message: WireMessage): void;
  /** Receives wire messages from the engine; returns an unsubscribe function. */
  onMessage(receiver: (message: WireMessage) => void): () => void;
  /**
   * Engine availability: `up` when a port to a (re)started engine arrives, `down` when the engine
   * process exited. A late listener hears the current state at once. Returns an unsubscribe function.
   */
  onEngineStatus(listener: (status: 'up' | 'down') => void): () => void;
  /** Opens the native file dialog for a kind of file; resolves with the chosen path or null. */
  pickFile(purpose: FilePurpose): Promise<string | null>;
}

export type FilePurpose = 'dataset' | 'model';

export const desktopBridgeKey = 'facetDesktop';
/** IPC channel names between preload and main. */
export const ipcChannels = { port: 'facet:engine-port', engineDown: 'facet:engine-down', pickFile: 'facet:pick-file' } as const;
