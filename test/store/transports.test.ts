import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/shared/api/ApiClient.ts';
import { isWireMessage, type WireMessage } from '../../src/shared/api/wireMessages.ts';
import { FacetEngine } from '../../src/engine/FacetEngine.ts';
import { createInProcessChannel } from '../../src/engine/transports/inProcessChannel.ts';
import { serveMessagePort, type PortLike } from '../../src/engine/transports/messagePortTransport.ts';
import { sharedDataDir, tempHome } from '../support/tempHome.ts';
import { join } from 'node:path';

let home: { path: string; remove(): void };
let engine: FacetEngine;
beforeEach(() => {
  home = tempHome();
  engine = new FacetEngine({ home: home.path, shell: 'electron' });
});
afterEach(async () => {
  await engine.close();
  home.remove();
});

/** Node's MessagePort delivers the value itself; Electron's MessagePortMain wraps it as {data}. */
function asElectronPort(port: MessagePort): PortLike {
  return {
    postMessage: (message) => port.postMessage(message),
    on: ((event: 'message' | 'close', listener: (event?: { data: unknown }) => void) => {
      if (event === 'message') port.on('message', (data) => listener({ data }));
      else port.on('close', () => listener());
    }) as PortLike['on'],
    start: () => port.start(),
  };
}

async function exercise(client: ApiClient): Promise<void> {
  expect(await client.call('system.info', {})).toMatchObject({ version: '0.1.0', shell: 'electron', canPickFiles: true });
  await expect(client.call('datasets.get', { id: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  const updates: string[] = [];
  client.on('job.updated', (job) => updates.push(job.state));
  const changed = new Promise<void>((resolve) => client.on('datasets.changed', () => resolve()));
  const job = await client.call('datasets.import', { path: join(sharedDataDir, 'caa/survival-instinct/test_dataset_ab.json'), role: 'eval' });
  expect(job.state === 'queued' || job.state === 'running').toBe(true);
  await changed;
  expect(updates.at(-1)).toBe('done');
  const [dataset] = await client.call('datasets.list', {});
  expect(dataset).toMatchObject({ name: 'test_dataset_ab', role: 'eval', sampleCount: 50 });
}

describe('API transports', () => {
  it('in-process channel: typed calls, validation errors and events', async () => {
    const channel = createInProcessChannel(engine);
    await exercise(new ApiClient(channel));
    channel.close();
  });

  it('MessagePort transport (as Electron hands it to the engine)', async () => {
    const { port1, port2 } = new MessageChannel();
    serveMessagePort(engine, asElectronPort(port1));
    const client = new ApiClient({
      send: (message: WireMessage) => port2.postMessage(message),
      onMessage: (receiver) => {
        const listener = (data: unknown) => {
          if (isWireMessage(data)) receiver(data);
        };
        port2.on('message', listener);
        return () => port2.off('message', listener);
      },
    });
    await exercise(client);
    client.close();
    port1.close();
    port2.close();
  });
});
