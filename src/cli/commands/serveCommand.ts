import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FacetError } from '../../shared/FacetError.ts';
import { FacetEngine } from '../../engine/FacetEngine.ts';
import { FacetServer, serverLimits } from '../../engine/FacetServer.ts';
import type { CliContext } from '../CliContext.ts';

const help = `Usage: facet serve [--port P] [--host H] [--allow-remote] [--max-upload-mb N] [--max-message-mb N]

Serves the Facet UI and API to a browser, for headless GPU boxes. Binds 127.0.0.1 by default;
the printed URL carries a random per-run token that every API request must present.
A host other than loopback needs --allow-remote. Default port 7860 (0 = any free port).
  --max-upload-mb   largest browser upload (default ${serverLimits.maxUploadBytes / 1024 / 1024}); bigger ones are refused (413)
  --max-message-mb  largest WebSocket message (default ${serverLimits.maxMessageBytes / 1024 / 1024}); a bigger one closes that socket`;

/**
 * The renderer built by `npm run build` (electron-vite writes it to out/renderer). FACET_UI_DIR
 * serves another build instead (a developer's private build, see docs/ARCHITECTURE.md).
 */
export const builtRendererDir = process.env['FACET_UI_DIR'] ?? fileURLToPath(new URL('../../../out/renderer', import.meta.url));

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '7860' },
      host: { type: 'string', default: '127.0.0.1' },
      'allow-remote': { type: 'boolean', default: false },
      'max-upload-mb': { type: 'string' },
      'max-message-mb': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    ctx.out(help);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FacetError('INVALID_ARGUMENT', `--port must be 0..65535, got '${values.port}'.`);
  const megabytes = (value: string | undefined, flag: string): number | undefined => {
    if (value === undefined) return undefined;
    const number = Number(value);
    if (!(number > 0 && number <= 1024 * 1024)) throw new FacetError('INVALID_ARGUMENT', `--${flag} must be a number of MiB above 0 (got '${value}').`, { flag, value });
    return Math.floor(number * 1024 * 1024);
  };
  const maxUploadBytes = megabytes(values['max-upload-mb'], 'max-upload-mb');
  const maxMessageBytes = megabytes(values['max-message-mb'], 'max-message-mb');
  const engine = new FacetEngine({ home: ctx.home, shell: 'serve' });
  let server: FacetServer;
  try {
    server = new FacetServer(engine, { host: values.host, port, rendererDir: builtRendererDir, allowRemote: values['allow-remote'], ...(maxUploadBytes === undefined ? {} : { maxUploadBytes }), ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }) });
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
