import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointChatGenerator } from '../../src/core/generation/EndpointChatGenerator.ts';
import { explainFeatures } from '../../src/core/interpret/explainFeatures.ts';
import type { Store } from '../../src/core/store/Store.ts';
import { indexedWorkspace } from './interpretFixtures.ts';

/** A real HTTP server that misbehaves on purpose: it hangs, answers non-JSON, or answers JSON without choices / with unparseable content. */
function misbehavingServer(): Promise<{ server: Server; base: string; requests: () => number }> {
  let count = 0;
  const server = createServer((request, response) => {
    count++;
    request.resume();
    const path = request.url ?? '';
    if (path.startsWith('/hang/')) return; // never answers
    response.setHeader('content-type', 'application/json');
    if (path.startsWith('/html/')) response.end('<html>not an API</html>');
    else if (path.startsWith('/nochoices/')) response.end('{"object":"chat.completion"}');
    else response.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'I think it is about cats.' }, finish_reason: 'stop' }] }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => count })));
}

describe('endpoint failures are coded errors or recorded answers', () => {
  let stub: Awaited<ReturnType<typeof misbehavingServer>>;
  beforeAll(async () => {
    stub = await misbehavingServer();
  });
  afterAll(() => {
    stub.server.closeAllConnections();
    stub.server.close();
  });
  const turns = [{ role: 'user' as const, content: 'hello' }];

  it('times out with ENDPOINT_TIMEOUT', async () => {
    const generator = new EndpointChatGenerator({ baseUrl: `${stub.base}/hang/v1`, model: 'm', timeoutMs: 300 });
    await expect(generator.complete([turns], {})).rejects.toMatchObject({ code: 'ENDPOINT_TIMEOUT' });
  });

  it('an answer that is not an OpenAI-compatible response is ENDPOINT_MALFORMED, naming the URL', async () => {
    await expect(new EndpointChatGenerator({ baseUrl: `${stub.base}/html/v1`, model: 'm' }).complete([turns], {})).rejects.toMatchObject({ code: 'ENDPOINT_MALFORMED', message: expect.stringContaining('/html/v1/chat/completions') });
    await expect(new EndpointChatGenerator({ baseUrl: `${stub.base}/nochoices/v1`, model: 'm' }).complete([turns], {})).rejects.toMatchObject({ code: 'ENDPOINT_MALFORMED' });
  });

  it('refuses a key variable that is not set, and a URL that is not http(s), before sending anything', () => {
    const before = stub.requests();
    expect(() => new EndpointChatGenerator({ baseUrl: `${stub.base}/v1`, model: 'm', keyVariable: 'FACET_SURELY_UNSET_KEY', env: {} })).toThrow(/FACET_SURELY_UNSET_KEY/);
    expect(() => new EndpointChatGenerator({ baseUrl: 'file:///etc/passwd', model: 'm' })).toThrow(/http\(s\)/);
    expect(stub.requests()).toBe(before);
  });

  describe('explaining through an endpoint whose answers do not parse', () => {
    let home: { path: string; remove(): void };
    let store: Store;
    let modelPath: string;
    beforeAll(async () => {
      ({ home, store, modelPath } = await indexedWorkspace('facet-endpoint-bad-'));
    }, 120_000);
    afterAll(() => {
      store?.close();
      home?.remove();
    });

    it('records "cannot tell" for each feature, with the raw answers kept, and says texts left the machine', async () => {
      const report = await explainFeatures(store, home.path, { model: modelPath, sae: 'test-sae', kv: 'f32', limit: 2, candidates: 2, explainer: { endpoint: { baseUrl: `${stub.base}/prose/v1`, model: 'm' } } });
      expect(report.notice).toMatch(/leave this machine/);
      expect(report.explained).toHaveLength(2);
      for (const row of report.explained) expect(row).toMatchObject({ canTell: false, explanation: '', score: null, verification: null });
      const stored = store.db.prepare('SELECT candidates FROM feature_explanations').all() as { candidates: string }[];
      expect(stored).toHaveLength(2);
      for (const row of stored) expect(JSON.parse(row.candidates)).toEqual([expect.objectContaining({ invalid: 'I think it is about cats.' }), expect.objectContaining({ invalid: 'I think it is about cats.' })]);
    }, 120_000);
  });
});
