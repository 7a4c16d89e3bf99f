import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import { FacetEngine } from '../../engine/FacetEngine.ts';
import { FacetServer } from '../../engine/FacetServer.ts';
import type { CliContext } from '../CliContext.ts';

const help = `Usage: facet serve [--port P] [--host H] [--allow-remote]

Serves the Facet UI and API to a browser, for headless GPU boxes. Binds 127.0.0.1 by default;
the printed URL carries a random per-run token that every API request must present.
A host other than loopback needs --allow-remote. Default port 7860 (0 = any free port).`;

/** The renderer built by `npm run build` (electron-vite writes it to out/renderer). */
export const builtRendererDir = fileURLToPath(new URL('../../../out/renderer', import.meta.url));

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string', default: '7860' }, host: { type: 'string', default: '127.0.0.1' }, 'allow-remote': { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    ctx.out(help);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FacetError('INVALID_ARGUMENT', `--port must be 0..65535, got '${values.port}'.`);
  const engine = new FacetEngine({ home: ctx.home, shell: 'serve' });
  let server: FacetServer;
  try {
    server = new FacetServer(engine, { host: values.host, port, rendererDir: builtRendererDir, allowRemote: values['allow-remote'] });
  } catch (error) {
    await engine.close();
    throw error;
  }
  const { url } = await server.listen();
  if (ctx.json) ctx.printJson({ url, home: ctx.home });
  else ctx.out(`Facet is serving at ${url}\nWorkspace: ${ctx.home}\nPress Ctrl-C to stop.`);
  await new Promise<void>((resolvePromise) => ctx.signal.addEventListener('abort', () => resolvePromise(), { once: true }));
  await server.close();
  await engine.close();
  return 0;
}
