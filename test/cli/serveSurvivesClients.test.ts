import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ensureRendererBuilt } from '../support/ensureRendererBuilt.ts';
import { startFacet, waitForLine } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';

let home: { path: string; remove(): void };
let server: ChildProcess;
let url: URL;
let token: string;
let exited: string | undefined;

beforeAll(async () => {
  await ensureRendererBuilt();
  home = tempHome('facet-serve-robust-');
  server = startFacet(['serve', '--port', '0', '--json', '--max-upload-mb', '1', '--max-message-mb', '1'], home.path);
  server.on('exit', (code, signal) => (exited = `code ${code} signal ${signal}`));
  url = new URL(JSON.parse(await waitForLine(server, /"url"/)).url);
  token = url.searchParams.get('token')!;
});
afterAll(() => {
  server.kill('SIGTERM');
  home.remove();
});

async function healthy(): Promise<void> {
  expect(exited).toBeUndefined();
  expect((await fetch(new URL(`/api/health?token=${token}`, url))).status).toBe(200);
}

/** Opens an API socket and returns it with its raw TCP socket, to write frames no client library would. */
async function openSocket(): Promise<{ ws: WebSocket; raw: Socket; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://${url.host}/api/ws?token=${token}`, { headers: { Origin: `http://${url.host}` } });
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve) => ws.once('open', resolve));
  return { ws, raw: (ws as unknown as { _socket: Socket })._socket, closed };
}

/** A client frame: FIN + opcode, masked payload (unless `unmasked`). */
function frame(opcode: number, payload: Buffer, options: { unmasked?: boolean; declaredLength?: number } = {}): Buffer {
  const length = options.declaredLength ?? payload.length;
  const maskBit = options.unmasked === true ? 0 : 0x80;
  let head: Buffer;
  if (length < 126) head = Buffer.from([0x80 | opcode, maskBit | length]);
  else if (length < 65536) head = Buffer.from([0x80 | opcode, maskBit | 126, length >> 8, length & 0xff]);
  else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = maskBit | 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  if (options.unmasked === true) return Buffer.concat([head, payload]);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([head, mask, masked]);
}

describe('facet serve survives its clients', () => {
  it.each([
    ['a frame over --max-message-mb', () => frame(0x1, Buffer.alloc(16), { declaredLength: 17 * 1024 * 1024 }), 1009],
    ['invalid UTF-8 in a text frame', () => frame(0x1, Buffer.from([0xff, 0xfe, 0xfd])), 1007],
    ['an unmasked client frame', () => frame(0x1, Buffer.from('hi'), { unmasked: true }), 1002],
    ['a reserved opcode', () => frame(0x3, Buffer.alloc(0)), 1002],
    ['close code 999', () => frame(0x8, Buffer.from([0x03, 0xe7])), 1002],
  ] as const)('%s closes that socket only', async (_name, bytes, code) => {
    const bystander = await openSocket();
    const { raw, closed } = await openSocket();
    raw.write(bytes());
    expect(await closed).toBe(code);
    await healthy();
    expect(bystander.ws.readyState).toBe(WebSocket.OPEN);
    bystander.ws.close();
  });

  it('garbage after the upgrade, and a reset mid-request, do not stop it', async () => {
    const { raw, closed } = await openSocket();
    raw.destroy();
    await closed;
    await new Promise<void>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`POST /api/upload?token=${token}&name=x.jsonl HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: 100000\r\n\r\npartial`);
        setTimeout(() => {
          socket.resetAndDestroy();
          resolve();
        }, 100);
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.end('NOT HTTP AT ALL\r\n\r\n'));
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.resume();
    });
    await healthy();
  });

  it('refuses an upload over --max-upload-mb, declared or streamed, and keeps no partial file', async () => {
    const declared = await fetch(new URL(`/api/upload?token=${token}&name=big.jsonl`, url), { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024, 0x61) });
    expect(declared.status).toBe(413);
    expect((await declared.json()).error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    // chunked, no Content-Length: counted while it streams
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(new URL(`/api/upload?token=${token}&name=stream.jsonl`, url), { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' } }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      let sent = 0;
      const pump = (): void => {
        while (sent < 3 * 1024 * 1024) {
          sent += 64 * 1024;
          if (!req.write(Buffer.alloc(64 * 1024, 0x62))) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    }).catch((error: unknown) => ({ status: -1, body: String(error) }));
    // the server answers 413 (or, if the client was still writing, the connection is cut)
    if (streamed.status !== -1) {
      expect(streamed.status).toBe(413);
      expect(streamed.body).toContain('PAYLOAD_TOO_LARGE');
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const uploads = join(home.path, 'uploads');
    const left = existsSync(uploads) ? readdirSync(uploads, { recursive: true }) : [];
    expect(left).toEqual([]);
    await healthy();
  });

  it('an upload aborted halfway leaves nothing; a complete one keeps its content; a 5,000-character name is cut', async () => {
    await new Promise<void>((resolve) => {
      const req = request(new URL(`/api/upload?token=${token}&name=aborted.jsonl`, url), { method: 'POST', headers: { 'Content-Length': '500000' } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(100_000, 0x63), () => setTimeout(() => req.destroy(), 100));
      req.on('close', () => resolve());
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const uploads = join(home.path, 'uploads');
    expect(existsSync(uploads) ? readdirSync(uploads, { recursive: true }) : []).toEqual([]);

    const content = '{"text":"hello"}\n';
    const longName = `${'n'.repeat(5000)}.jsonl`;
    const response = await fetch(new URL(`/api/upload?token=${token}&name=${longName}`, url), { method: 'POST', body: content });
    expect(response.status).toBe(200);
    const { path } = (await response.json()) as { path: string };
    expect(basename(path).length).toBeLessThanOrEqual(120);
    expect(path.endsWith('.jsonl')).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(content);
    await healthy();
  });
});
