import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFeatureSpans, listFeatureSpaces, queryFeatureTable } from '../../src/core/features/FeatureQueries.ts';
import { indexDataset } from '../../src/core/features/indexDataset.ts';
import { Store } from '../../src/core/store/Store.ts';
import { FacetEngine } from '../../src/engine/FacetEngine.ts';
import { ModelProcessHost } from '../../src/engine/modelProcessHost.ts';
import { forgeModelAndSae, populateWorkspace } from '../features/featureFixtures.ts';
import { tempHome } from '../support/tempHome.ts';

const home = tempHome('facet-model-calls-');
const flag = join(home.path, 'abort-once');
let cli: FacetEngine;
let served: FacetEngine;
let params: { spaceId: number; feature: number; samples: { datasetId: number; ordinal: number }[] };
let modelName: string;

beforeAll(async () => {
  const forged = await forgeModelAndSae();
  const store = Store.open(join(home.path, 'facet.db'));
  await populateWorkspace(store, home.path, { config: forged.config, weights: forged.weights });
  await indexDataset(store, home.path, { dataset: 'anchor', model: forged.modelPath, sae: 'test-sae', kv: 'f32', threads: 1, cpu: true, samplesPerBatch: 4 });
  const space = listFeatureSpaces(store)[0]!;
  modelName = space.modelName;
  const feature = queryFeatureTable(store, { spaceId: space.id, sort: 'max', limit: 1 }).rows[0]!.feature;
  params = { spaceId: space.id, feature, samples: getFeatureSpans(store, space.id, feature, 2).map((span) => ({ datasetId: span.datasetId, ordinal: span.ordinal })) };
  store.close();
  // model processes abort (process.abort(): SIGABRT, as a GGML_ASSERT raises) at features.context while this file exists
  process.env['FACET_MODEL_PROCESS_ABORT_AT'] = `features.context@${flag}`;
  cli = new FacetEngine({ home: home.path, shell: 'cli', resumeInterrupted: false });
  served = new FacetEngine({ home: home.path, shell: 'serve', resumeInterrupted: false });
}, 120_000);
afterAll(async () => {
  delete process.env['FACET_MODEL_PROCESS_ABORT_AT'];
  await served?.close();
  await cli?.close();
  home.remove();
});

describe("the engine's model calls outside jobs run in a model process in facet serve", () => {
  it('features.context gives in a model process what the CLI computes in its own; an abort there costs that call, and the next one works', async () => {
    const reference = await cli.call('features.context', params);
    expect(reference.contexts).toHaveLength(params.samples.length);
    expect(cli.modelCalls).not.toBeInstanceOf(ModelProcessHost);

    const host = served.modelCalls as ModelProcessHost;
    expect(host).toBeInstanceOf(ModelProcessHost);
    const fromProcess = await served.call('features.context', params);
    expect(fromProcess.contexts).toEqual(reference.contexts);
    const pid = host.pids().get(modelName);
    expect(pid).toBeGreaterThan(0);
    expect(pid).not.toBe(process.pid);
    // a coded error inside the model process arrives as itself
    await expect(served.call('features.context', { ...params, feature: 1_000_000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(host.pids().get(modelName)).toBe(pid);

    // arm the hook: the model process aborts at its next features.context
    writeFileSync(flag, '');
    await expect(served.call('features.context', params)).rejects.toMatchObject({ code: 'MODEL_PROCESS_CRASHED', details: { model: modelName, call: 'features.context', signal: 'SIGABRT' } });
    expect(existsSync(flag)).toBe(false);
    // the engine still answers, and the next call recomputes in a fresh process (its cache went with the old one)
    expect(await served.call('datasets.list', {})).not.toHaveLength(0);
    const again = await served.call('features.context', params);
    expect(again.contexts).toEqual(reference.contexts);
    expect(again.seconds).toBeGreaterThan(0);
    expect(host.pids().get(modelName)).not.toBe(pid);
  }, 120_000);
});
