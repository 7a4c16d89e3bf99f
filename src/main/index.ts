import { app, BrowserWindow, dialog, ipcMain, MessageChannelMain, session, utilityProcess, type UtilityProcess } from 'electron';
import { join } from 'node:path';
import { ipcChannels } from '../shared/api/desktopBridge.ts';

/**
 * Electron main: thin. It forks the engine as a utilityProcess (restarting it with backoff when
 * it dies), opens a hardened window and gives it a MessagePort to the engine. No models, SAE
 * math or bulk SQL run here.
 */
// The same workspace folder the CLI uses (~/.config/Facet on Linux): userData derives from the name.
app.setName('Facet');
const facetHome = process.env['FACET_HOME'] || app.getPath('userData');
let engine: UtilityProcess | undefined;
let window: BrowserWindow | undefined;
let restartDelayMs = 500;

function startEngine(): void {
  const child = utilityProcess.fork(join(__dirname, 'engine.js'), [], {
    serviceName: 'Facet engine',
    env: { ...process.env, FACET_HOME: facetHome },
    stdio: 'inherit',
  });
  engine = child;
  child.on('message', (message: { type?: string }) => {
    if (message?.type === 'ready') {
      restartDelayMs = 500;
      connectWindow();
    }
  });
  child.on('exit', (code) => {
    if (engine !== child || quitting) return;
    engine = undefined;
    if (window !== undefined && !window.isDestroyed()) window.webContents.send(ipcChannels.engineDown);
    console.error(`Facet engine exited with code ${code}; restarting in ${restartDelayMs} ms.`);
    setTimeout(startEngine, restartDelayMs);
    restartDelayMs = Math.min(restartDelayMs * 2, 30_000);
  });
}

function connectWindow(): void {
  if (engine === undefined || window === undefined || window.isDestroyed()) return;
  const { port1, port2 } = new MessageChannelMain();
  engine.postMessage({ type: 'connect' }, [port1]);
  window.webContents.postMessage(ipcChannels.port, null, [port2]);
}

function createWindow(): void {
  window = new BrowserWindow({
    width: 1280,
    height: 820,
    title: 'Facet',
    show: false,
    webPreferences: {
      preload: join(__dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
    },
  });
  window.once('ready-to-show', () => window?.show());
  window.webContents.on('did-finish-load', connectWindow);
  // No navigation away from the app and no new windows: remote content never loads.
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  const devServer = process.env['ELECTRON_RENDERER_URL'];
  if (devServer) void window.loadURL(devServer);
  else void window.loadFile(join(__dirname, '../renderer/index.html'));
}

let quitting = false;
app.whenReady().then(() => {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ipcMain.handle(ipcChannels.pickFile, async (_event, purpose: unknown) => {
    const options =
      purpose === 'model'
        ? { title: 'Register a GGUF model', properties: ['openFile' as const], filters: [{ name: 'GGUF models', extensions: ['gguf'] }] }
        : { title: 'Import a dataset', properties: ['openFile' as const], filters: [{ name: 'Datasets', extensions: ['jsonl', 'json', 'csv', 'txt', 'gz', 'ndjson'] }] };
    const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  });
  startEngine();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('before-quit', () => {
  quitting = true;
  engine?.kill();
});
app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
