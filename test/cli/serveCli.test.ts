import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runFacet, startFacet, waitForLine } from '../support/runFacet.ts';
import { tempHome } from '../support/tempHome.ts';
import { ensureRendererBuilt } from '../support/ensureRendererBuilt.ts';

let home: { path: string; remove(): void };
let server: ChildProcess;
let url: URL;

beforeAll(async () => {
  await ensureRendererBuilt();
  home = tempHome();
  server = startFacet(['serve', '--port', '0', '--json'], home.path);
  url = new URL(JSON.parse(await waitForLine(server, /"url"/)).url);
});
afterAll(() => {
  server.kill('SIGTERM');
  home.remove();
});

function socketOutcome(address: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(address, { headers });
    socket.on('open', () => {
      socket.close();
      resolve('open');
    });
    socket.on('unexpected-response', (_request, response) => resolve(String(response.statusCode)));
    socket.on('error', (error) => resolve(`error ${error.message}`));
  });
}

describe('facet serve', () => {
  it('binds loopback and prints a URL with a token', () => {
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.searchParams.get('token')).toMatch(/^[\w-]{20,}$/);
  });

  it('serves the UI with a strict CSP', async () => {
    const response = await fetch(new URL('/', url));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<div id="root">');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('refuses API requests without the token (401) or from another origin (403)', async () => {
    const token = url.searchParams.get('token') as string;
    expect((await fetch(new URL('/api/health', url))).status).toBe(401);
    expect((await fetch(new URL('/api/health?token=wrong-token-of-some-length', url))).status).toBe(401);
    expect((await fetch(new URL(`/api/health?token=${token}`, url))).status).toBe(200);
    expect((await fetch(new URL(`/api/health?token=${token}`, url), { headers: { Origin: 'http://evil.example' } })).status).toBe(403);
    expect((await fetch(new URL(`/api/upload?name=x.jsonl`, url), { method: 'POST', body: '{}' })).status).toBe(401);
    const ws = `ws://${url.host}/api/ws`;
    expect(await socketOutcome(ws)).toBe('401');
    expect(await socketOutcome(`${ws}?token=${token}`, { Origin: 'http://evil.example' })).toBe('403');
    expect(await socketOutcome(`${ws}?token=${token}`, { Origin: `http://${url.host}` })).toBe('open');
  });

  it('answers API calls over the WebSocket with validated parameters and coded errors', async () => {
    const token = url.searchParams.get('token') as string;
    const socket = new WebSocket(`ws://${url.host}/api/ws?token=${token}`, { headers: { Origin: `http://${url.host}` } });
    await new Promise((resolve) => socket.once('open', resolve));
    const call = (id: number, method: string, params: unknown) =>
      new Promise<Record<string, unknown>>((resolve) => {
        socket.on('message', (data) => {
          const message = JSON.parse(String(data));
          if (message.type === 'response' && message.id === id) resolve(message);
        });
        socket.send(JSON.stringify({ type: 'request', id, method, params }));
      });
    expect(await call(1, 'datasets.list', {})).toMatchObject({ ok: true, result: [] });
    expect(await call(2, 'datasets.get', { id: 'x' })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(await call(3, 'datasets.get', { id: 99 })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await call(4, 'no.such', {})).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    socket.close();
  });

  it('with --allow-remote, accepts same-origin pages under any address and still refuses foreign origins', async () => {
    const remote = startFacet(['serve', '--host', '0.0.0.0', '--allow-remote', '--port', '0', '--json'], home.path);
    try {
      const printed = new URL(JSON.parse(await waitForLine(remote, /"url"/)).url);
      const token = printed.searchParams.get('token') as string;
      const local = `http://127.0.0.1:${printed.port}`;
      expect((await fetch(`${local}/api/health?token=${token}`, { headers: { Origin: local } })).status).toBe(200);
      expect((await fetch(`${local}/api/health?token=${token}`, { headers: { Origin: 'http://evil.example' } })).status).toBe(403);
      expect((await fetch(`${local}/api/health`, { headers: { Origin: local } })).status).toBe(401);
    } finally {
      remote.kill('SIGTERM');
    }
  });

  it('needs --allow-remote for a non-loopback host', async () => {
    const result = await runFacet(['serve', '--host', '0.0.0.0', '--port', '0'], home.path);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--allow-remote');
  });
});
