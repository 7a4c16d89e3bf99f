import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, join, normalize, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer } from 'ws';
import { FacetError, toWireError } from '../shared/FacetError.ts';
import type { FacetEngine } from './FacetEngine.ts';
import { OpenAiCompatibleApi } from './OpenAiCompatibleApi.ts';
import { serveWebSocket } from './transports/webSocketTransport.ts';

export interface FacetServerOptions {
  host: string;
  port: number;
  /** Folder of the built renderer (index.html + assets). */
  rendererDir: string;
  /** Needed to bind anything but a loopback address. */
  allowRemote?: boolean;
  /** Fixed token (tests); a random one per run otherwise. */
  token?: string;
  /** Largest WebSocket message accepted; a bigger one closes that socket (1009). Defaults to {@link serverLimits}. */
  maxMessageBytes?: number;
  /** Largest upload accepted (413 PAYLOAD_TOO_LARGE beyond). Defaults to {@link serverLimits}. */
  maxUploadBytes?: number;
}

/** Default caps of `facet serve` (`--max-message-mb`, `--max-upload-mb` change them). */
export const serverLimits = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxUploadBytes: 4 * 1024 * 1024 * 1024,
  /** Upload file names are cut to this many characters (file systems allow 255 bytes). */
  maxUploadNameLength: 120,
} as const;

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** The same Content-Security-Policy the desktop window enforces. */
export const contentSecurityPolicy =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * `facet serve`: the built renderer plus the engine API (WebSocket at /api/ws, uploads at
 * /api/upload) for a browser, and OpenAI-compatible chat completions at /v1 for local models. Loopback only unless allowed; every API request must carry the
 * per-run token (401 otherwise) and come from the served origin (403 otherwise).
 */
export class FacetServer {
  readonly token: string;
  private readonly engine: FacetEngine;
  private readonly options: FacetServerOptions;
  private readonly server: Server;
  private readonly sockets: WebSocketServer;
  private readonly maxUploadBytes: number;
  private allowedOrigins = new Set<string>();
  /** /v1/models and /v1/chat/completions over the registered local models. */
  private readonly openAi: OpenAiCompatibleApi;

  constructor(engine: FacetEngine, options: FacetServerOptions) {
    if (!isLoopbackHost(options.host) && options.allowRemote !== true) {
      throw new FacetError('INVALID_ARGUMENT', `Refusing to serve on ${options.host}: anyone who can reach it could use your models and data. Serve on 127.0.0.1 (the default) and tunnel, or pass --allow-remote if you mean it.`, { host: options.host });
    }
    if (!existsSync(join(options.rendererDir, 'index.html'))) {
      throw new FacetError('NOT_FOUND', `The UI is not built (${join(options.rendererDir, 'index.html')} is missing). Run 'npm run build' first.`, { rendererDir: options.rendererDir });
    }
    this.engine = engine;
    this.options = options;
    this.openAi = new OpenAiCompatibleApi(engine.store, engine.modelCalls);
    this.token = options.token ?? randomBytes(24).toString('base64url');
    this.maxUploadBytes = options.maxUploadBytes ?? serverLimits.maxUploadBytes;
    this.sockets = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes ?? serverLimits.maxMessageBytes });
    this.sockets.on('error', () => undefined); // per-socket errors are handled on each socket
    this.server = createServer((request, response) => {
      // a client that resets the connection mid-request must cost that request only
      request.on('error', () => request.destroy());
      response.on('error', () => response.destroy());
      this.handle(request, response).catch((error: unknown) => {
        if (response.headersSent || response.destroyed) {
          response.destroy();
          return;
        }
        const wire = toWireError(error);
        this.json(response, error instanceof FacetError ? 400 : 500, { error: { code: wire.code, message: wire.message } });
      });
    });
    this.server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    this.server.on('upgrade', (request, socket, head) => {
      socket.on('error', () => socket.destroy());
      const url = new URL(request.url ?? '/', 'http://localhost');
      const refusal = url.pathname === '/api/ws' ? this.refusal(request, url) : 404;
      if (refusal !== undefined) {
        socket.end(`HTTP/1.1 ${refusal} ${refusal === 401 ? 'Unauthorized' : refusal === 403 ? 'Forbidden' : 'Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      this.sockets.handleUpgrade(request, socket, head, (ws) => serveWebSocket(this.engine, ws));
    });
  }

  async listen(): Promise<{ url: string; port: number }> {
    await new Promise<void>((resolvePromise, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'EADDRINUSE' ? new FacetError('INVALID_ARGUMENT', `Port ${this.options.port} is in use. Pick another with --port, or --port 0 for any free port.`, { port: this.options.port }) : error),
      );
      this.server.listen(this.options.port, this.options.host, resolvePromise);
    });
    const port = (this.server.address() as AddressInfo).port;
    const hostForUrl = this.options.host.includes(':') && !this.options.host.startsWith('[') ? `[${this.options.host}]` : this.options.host;
    this.allowedOrigins = new Set([`http://${hostForUrl}:${port}`]);
    if (isLoopbackHost(this.options.host)) {
      for (const alias of ['127.0.0.1', 'localhost', '[::1]']) this.allowedOrigins.add(`http://${alias}:${port}`);
    }
    return { url: `http://${hostForUrl}:${port}/?token=${this.token}`, port };
  }

  async close(): Promise<void> {
    for (const client of this.sockets.clients) client.terminate();
    this.sockets.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolvePromise) => this.server.close(() => resolvePromise()));
    await this.openAi.close();
  }

  /**
   * 401 without the right token, 403 from a foreign origin, undefined when allowed. On loopback
   * the origin must be one of the served loopback origins. A remote bind (e.g. 0.0.0.0) is reached
   * under addresses the server cannot list, so there the page's origin must match the Host the
   * request was sent to (same-origin); the token stays the authentication.
   */
  private refusal(request: IncomingMessage, url: URL): 401 | 403 | undefined {
    const origin = request.headers.origin;
    if (origin !== undefined && !this.allowedOrigins.has(origin)) {
      let sameHost = false;
      try {
        sameHost = this.options.allowRemote === true && new URL(origin).host === request.headers.host;
      } catch {
        sameHost = false;
      }
      if (!sameHost) return 403;
    }
    const given = url.searchParams.get('token') ?? (request.headers.authorization ?? '').replace(/^Bearer /, '');
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return 401;
    return undefined;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/v1/')) {
      const refusal = this.refusal(request, url);
      if (refusal !== undefined) {
        this.json(response, refusal, { error: { code: 'UNAUTHORIZED', type: 'invalid_request_error', message: refusal === 401 ? 'Missing or wrong key: send the token facet serve printed as "Authorization: Bearer <token>".' : 'Requests from other origins are refused.' } });
        return;
      }
      if (!(await this.openAi.handle(request, response, url.pathname))) this.json(response, 404, { error: { code: 'NOT_FOUND', type: 'invalid_request_error', message: `No endpoint ${request.method} ${url.pathname}; facet serve answers GET /v1/models and POST /v1/chat/completions.` } });
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      const refusal = this.refusal(request, url);
      if (refusal !== undefined) {
        this.json(response, refusal, { error: { code: 'UNAUTHORIZED', message: refusal === 401 ? 'Missing or wrong token: open the URL that facet serve printed.' : 'Requests from other origins are refused.' } });
        return;
      }
      if (url.pathname === '/api/upload' && request.method === 'POST') {
        await this.upload(request, response, url);
        return;
      }
      if (url.pathname === '/api/health') {
        this.json(response, 200, { ok: true });
        return;
      }
      this.json(response, 404, { error: { code: 'NOT_FOUND', message: `No API endpoint ${url.pathname}.` } });
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      this.json(response, 405, { error: { code: 'INVALID_ARGUMENT', message: 'Method not allowed.' } });
      return;
    }
    await this.serveStatic(url.pathname, response);
  }

  /**
   * Streams a browser upload into the workspace under a temporary name, renamed when complete;
   * the path it returns is then imported as usual. Over the size cap: 413 `PAYLOAD_TOO_LARGE`
   * (up front when Content-Length says so). An aborted or refused upload leaves no file behind.
   */
  private async upload(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const name = uploadFileName(url.searchParams.get('name') ?? '');
    const limit = this.maxUploadBytes;
    const tooLarge = (): FacetError =>
      new FacetError('PAYLOAD_TOO_LARGE', `The upload is larger than this server's limit of ${formatMiB(limit)}. Import the file from the server's disk with \`facet datasets import <file>\`, or restart \`facet serve\` with a larger --max-upload-mb.`, { limit });
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      this.json(response, 413, { error: tooLarge().toWire() });
      request.resume();
      response.on('finish', () => request.destroy());
      return;
    }
    const folder = join(this.engine.home, 'uploads', randomUUID());
    await mkdir(folder, { recursive: true });
    const path = join(folder, name);
    const partial = join(folder, `.${randomUUID()}.partial`);
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        callback(received > limit ? tooLarge() : null, chunk);
      },
    });
    try {
      await pipeline(request, counter, createWriteStream(partial));
      if (!request.complete) throw new FacetError('CANCELLED', 'The upload was aborted before it finished.');
      await rename(partial, path);
    } catch (error) {
      await rm(folder, { recursive: true, force: true });
      if (error instanceof FacetError && error.code === 'PAYLOAD_TOO_LARGE' && !response.headersSent) {
        response.setHeader('Connection', 'close');
        this.json(response, 413, { error: error.toWire() });
        response.on('finish', () => request.destroy());
        return;
      }
      response.destroy(); // the client went away (or the disk failed): nothing to answer
      return;
    }
    this.json(response, 200, { path });
  }

  private async serveStatic(pathname: string, response: ServerResponse): Promise<void> {
    const root = resolve(this.options.rendererDir);
    let wanted: string;
    try {
      wanted = pathname === '/' ? '/index.html' : decodeURIComponent(pathname);
    } catch {
      response.writeHead(400, { 'Content-Type': 'text/plain' }).end('Bad request');
      return;
    }
    let file = normalize(join(root, wanted));
    if (!file.startsWith(root + sep) && file !== root) {
      this.json(response, 403, { error: { code: 'UNAUTHORIZED', message: 'Outside the UI folder.' } });
      return;
    }
    let info = await stat(file).catch(() => undefined);
    if (info === undefined || !info.isFile()) {
      // client-side routes fall back to the app shell
      if (extname(wanted) !== '') {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
        return;
      }
      file = join(root, 'index.html');
      info = await stat(file);
    }
    response.writeHead(200, {
      'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream',
      'Content-Length': info.size,
      'Content-Security-Policy': contentSecurityPolicy,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    await pipeline(createReadStream(file), response);
  }

  private json(response: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
  }
}

/**
 * A safe file name for an upload: the base name, characters outside [A-Za-z0-9_.-] replaced,
 * cut to {@link serverLimits.maxUploadNameLength} characters keeping the extension.
 */
export function uploadFileName(given: string): string {
  const cleaned = basename(given).replace(/[^\w.\-]+/g, '_');
  const name = cleaned === '' || /^\.+$/.test(cleaned) ? 'upload.jsonl' : cleaned;
  if (name.length <= serverLimits.maxUploadNameLength) return name;
  const extension = /(\.[\w-]{1,10}){1,2}$/.exec(name)?.[0] ?? '';
  return name.slice(0, serverLimits.maxUploadNameLength - extension.length) + extension;
}

function formatMiB(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}
