import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIndexPipeline, type IndexedSample } from '../../src/core/features/indexDataset.ts';
import { SampleMaximaReducer } from '../../src/core/features/SampleMaximaReducer.ts';
import type { ProbeContext } from '../../src/core/llama/ProbeContext.ts';
import { ProbeModel, type PreparedSample } from '../../src/core/llama/ProbeModel.ts';
import { SaeSession } from '../../src/core/sae/SaeSession.ts';
import { D_SAE, forgeModelAndSae, LAYER } from './featureFixtures.ts';

describe('index pipeline', () => {
  let model: ProbeModel;
  let context: ProbeContext;
  let session: SaeSession;
  let prepared: PreparedSample[];

  beforeAll(async () => {
    const forged = await forgeModelAndSae();
    model = await ProbeModel.load(forged.modelPath, { gpu: false });
    context = await model.createContext({ contextSize: 2048, threads: 1, kv: 'f32' });
    session = await SaeSession.create(forged.config, forged.weights, { threads: 1, provider: 'cpu', batchSize: 64 });
    prepared = Array.from({ length: 40 }, (_, i) => model.prepare(`Sample number ${i} talks about ${'rivers and stones '.repeat(1 + (i % 5))}`, { maxTokens: 512 }));
  });
  afterAll(async () => {
    await session?.dispose();
    model?.dispose();
  });

  it('starts capturing batch n+1 before the encoding of batch n ends, and stores batches in order', async () => {
    const events: { what: 'capture' | 'encode'; start: number; end: number }[] = [];
    const capture = context.capture.bind(context);
    const encodeSparse = session.encodeSparse.bind(session);
    // instrumented (same real calls, timed)
    const timedContext = Object.create(context) as ProbeContext;
    timedContext.capture = async (...args) => {
      const start = performance.now();
      const result = await capture(...args);
      events.push({ what: 'capture', start, end: performance.now() });
      return result;
    };
    const timedSession = Object.create(session) as SaeSession;
    timedSession.encodeSparse = async (...args) => {
      const start = performance.now();
      const result = await encodeSparse(...args);
      events.push({ what: 'encode', start, end: performance.now() });
      return result;
    };
    const stored: { first: number; batch: IndexedSample[] }[] = [];
    await runIndexPipeline({ context: timedContext, session: timedSession, layer: LAYER, reducer: new SampleMaximaReducer(D_SAE), first: 0, total: prepared.length, samplesPerBatch: 8, read: (offset, limit) => prepared.slice(offset, offset + limit), store: (first, batch) => stored.push({ first, batch }) });
    const captures = events.filter((e) => e.what === 'capture').sort((a, b) => a.start - b.start);
    const encodes = events.filter((e) => e.what === 'encode').sort((a, b) => a.start - b.start);
    expect(captures).toHaveLength(5);
    expect(encodes).toHaveLength(5);
    for (let n = 0; n + 1 < captures.length; n++) {
      // capture n+1 is in flight while batch n is encoded
      expect(captures[n + 1]!.start).toBeLessThan(encodes[n]!.end);
      expect(captures[n + 1]!.start).toBeGreaterThanOrEqual(captures[n]!.end);
    }
    expect(stored.map((entry) => entry.first)).toEqual([0, 8, 16, 24, 32]);
    stored.forEach(({ batch }) => batch.forEach((sample) => expect(sample.features.features.length).toBeGreaterThan(0)));
  });

  it('reducing dense codes gives exactly what reducing sparse codes gives (features, values, peak positions)', async () => {
    const run = async (dense: boolean): Promise<IndexedSample[]> => {
      const out: IndexedSample[] = [];
      // batches of 8 samples, ~150 rows each, cross the 64-row onnxruntime runs of the dense path
      await runIndexPipeline({ context, session, layer: LAYER, reducer: new SampleMaximaReducer(D_SAE), dense, first: 0, total: prepared.length, samplesPerBatch: 8, read: (offset, limit) => prepared.slice(offset, offset + limit), store: (_, batch) => out.push(...batch) });
      return out;
    };
    const sparse = await run(false);
    const dense = await run(true);
    expect(dense).toHaveLength(prepared.length);
    dense.forEach((sample, i) => {
      expect(sample.t0).toBe(sparse[i]!.t0);
      expect([...sample.features.features]).toEqual([...sparse[i]!.features.features]);
      expect([...sample.features.peaks]).toEqual([...sparse[i]!.features.peaks]);
      sample.features.values.forEach((value, j) => expect(value).toBeCloseTo(sparse[i]!.features.values[j]!, 5));
      expect(Math.min(...sample.features.peaks)).toBeGreaterThanOrEqual(sample.t0);
      expect(Math.max(...sample.features.peaks)).toBeLessThan(sample.tokenCount);
    });
  });

  it('an encode failure stops the pipeline with that error and nothing after it is stored', async () => {
    const failing = Object.create(session) as SaeSession;
    let calls = 0;
    failing.encodeSparse = async (...args) => {
      if (++calls === 2) throw new Error('encode failed on purpose');
      return session.encodeSparse(...args);
    };
    const stored: number[] = [];
    await expect(runIndexPipeline({ context, session: failing, layer: LAYER, reducer: new SampleMaximaReducer(D_SAE), first: 0, total: prepared.length, samplesPerBatch: 8, read: (offset, limit) => prepared.slice(offset, offset + limit), store: (first) => stored.push(first) })).rejects.toThrow('encode failed on purpose');
    expect(stored).toEqual([0]);
  });
});
