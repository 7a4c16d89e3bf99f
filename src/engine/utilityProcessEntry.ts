/**
 * Entry of the engine when Electron main forks it as a utilityProcess. Main sends
 * `{ type: 'connect' }` with a MessagePort for each window; the engine serves the API on it.
 * Runs under Electron's Node without importing electron. Like `facet serve`'s, this engine runs
 * model-loading jobs and model calls in processes of its own: it forks the bundled
 * out/main/jobProcess.js and out/main/modelProcess.js with Electron's binary as Node
 * (ELECTRON_RUN_AS_NODE; see jobProcessLauncher.ts), so a native abort costs a job or a request,
 * not this process.
 */
import { FacetEngine } from './FacetEngine.ts';
import { serveMessagePort, type PortLike } from './transports/messagePortTransport.ts';

interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown; ports: PortLike[] }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
if (parentPort === undefined) {
  process.stderr.write('utilityProcessEntry must be started by Electron main as a utilityProcess.\n');
  process.exit(1);
}
const home = process.env['FACET_HOME'];
if (home === undefined || home === '') {
  process.stderr.write('FACET_HOME must be set by Electron main.\n');
  process.exit(1);
}
const engine = new FacetEngine({ home, shell: 'electron' });
parentPort.on('message', (event) => {
  const data = event.data as { type?: string } | undefined;
  if (data?.type === 'connect' && event.ports[0] !== undefined) serveMessagePort(engine, event.ports[0]);
});
parentPort.postMessage({ type: 'ready' });
const shutdown = (): void => {
  void engine.close().finally(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
