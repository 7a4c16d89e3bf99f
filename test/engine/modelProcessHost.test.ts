import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeModel } from '../../src/core/llama/ProbeModel.ts';
import { Store } from '../../src/core/store/Store.ts';
import { databasePath } from '../../src/core/workspace/resolveFacetHome.ts';
import { InProcessModelCalls } from '../../src/engine/modelProcessCalls.ts';
import { ModelProcessHost } from '../../src/engine/modelProcessHost.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';
import { tempHome } from '../support/tempHome.ts';

const home = tempHome('facet-model-host-');
let store: Store;
let modelA: string;
let modelB: string;
let samples: Int32Array[];

beforeAll(async () => {
  store = Store.open(databasePath(home.path));
  modelA = (await forgeTestModel({ family: 'llama3', layers: 2, dim: 64, heads: 4, kvHeads: 2, seed: 11, contextLength: 512 })).path;
  modelB = (await forgeTestModel({ family: 'llama3', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 11, contextLength: 512 })).path;
  const model = await ProbeModel.load(modelA, { gpu: false });
  samples = ['The river runs past old mills.', 'Quiet towns sit by a wide grey sea.'].map((text) => model.prepare(text, { maxTokens: 64 }).tokens);
  model.dispose();
}, 60_000);
afterAll(() => {
  store.close();
  home.remove();
});

const captureOf = (model: string) => ({ model, samples, layer: 1, context: { contextSize: 256, sequences: 2, threads: 1 } });

describe('ModelProcessHost', () => {
  it('captures in a model process exactly what the same call captures in this process, and keeps at most maxProcesses models loaded', async () => {
    const local = new InProcessModelCalls(store, home.path);
    const host = new ModelProcessHost(home.path, store, { maxProcesses: 1 });
    try {
      const here = await local.run('residuals.capture', captureOf(modelA));
      const there = await host.run('residuals.capture', captureOf(modelA));
      expect(there.lengths).toEqual(here.lengths);
      expect(there.activations).toBeInstanceOf(Float32Array);
      expect(Array.from(there.activations)).toEqual(Array.from(here.activations));
      const first = host.pids().get(modelA);
      expect(first).toBeGreaterThan(0);
      expect(host.startupMs(modelA)).toBeGreaterThan(0);

      // a second model: the idle process of the first is let go, so one model stays loaded
      await host.run('residuals.capture', captureOf(modelB));
      expect([...host.pids().keys()]).toEqual([modelB]);
      // back to the first: a fresh process, same numbers
      const again = await host.run('residuals.capture', captureOf(modelA));
      expect(Array.from(again.activations)).toEqual(Array.from(here.activations));
      expect(host.pids().get(modelA)).not.toBe(first);
      // a coded error in the model process arrives as itself and costs no process
      const pid = host.pids().get(modelA);
      await expect(host.run('residuals.capture', { ...captureOf(modelA), layer: 99 })).rejects.toMatchObject({ code: expect.stringMatching(/^[A-Z_]+$/) });
      expect(host.pids().get(modelA)).toBe(pid);
    } finally {
      await host.close();
      await local.close();
    }
    expect(host.pids().size).toBe(0);
  }, 60_000);
});
