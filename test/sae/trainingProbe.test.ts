import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeContext } from '../../src/core/llama/ProbeContext.ts';
import { ProbeModel } from '../../src/core/llama/ProbeModel.ts';
import { measureSaeQuality } from '../../src/core/sae/quality/measureSaeQuality.ts';
import { SaeSession } from '../../src/core/sae/SaeSession.ts';
import { ProbeActivationSource } from '../../src/core/sae/training/ProbeActivationSource.ts';
import { trainTiedTopKSae } from '../../src/core/sae/training/trainTiedTopKSae.ts';
import { tiedTopKToSae } from '../../src/core/sae/training/tiedTopKToSae.ts';
import { forgeTestModel } from '../forge/forgeTestModel.ts';

const words = ['river', 'stone', 'cloud', 'lamp', 'seven', 'quiet', 'orange', 'metal', 'window', 'garden', 'signal', 'winter'];
const samples = Array.from({ length: 80 }, (_, i) => `Sample ${i}: ${Array.from({ length: 3 + (i % 9) }, (_, j) => words[(i * 5 + j * 7) % words.length]).join(' ')}.`);

async function collect(source: ProbeActivationSource, startChunk: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for await (const chunk of source.chunks({ startChunk })) out.push(chunk.slice());
  return out;
}

describe('training on activations streamed from the llama probe (forged llama3 model)', () => {
  let model: ProbeModel;
  let context: ProbeContext;
  const folders: string[] = [];

  beforeAll(async () => {
    const { path } = await forgeTestModel({ family: 'llama3', layers: 3, dim: 64, heads: 4, kvHeads: 2, seed: 11, contextLength: 512 });
    model = await ProbeModel.load(path, { gpu: false });
    context = await model.createContext({ contextSize: 1024, batchSize: 128, sequences: 4, threads: 1, kv: 'f32' });
  });
  afterAll(async () => {
    context?.dispose();
    model?.dispose();
    for (const dir of folders) await rm(dir, { recursive: true, force: true });
  });

  const source = () =>
    new ProbeActivationSource({ context, layer: 1, sampleCount: samples.length, readSamples: (offset, limit) => samples.slice(offset, offset + limit), samplesPerCapture: 6 });

  it('yields one chunk per sample: the l_out-1 rows at t ≥ t0 of a direct capture, and resumes mid-group identically', async () => {
    const chunks = await collect(source(), 0);
    expect(chunks).toHaveLength(samples.length);
    for (const s of [0, 7, 79]) {
      const prepared = model.prepare(samples[s]!, { maxTokens: 512 });
      const direct = await context.capture([prepared.tokens], { layers: [1] });
      const expected = direct.activations.get(1)!.subarray(prepared.t0 * 64);
      expect(prepared.t0).toBeGreaterThan(0);
      expect(chunks[s]!.length).toBe(expected.length);
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < expected.length; i++) {
        diff += (chunks[s]![i]! - expected[i]!) ** 2;
        norm += expected[i]! ** 2;
      }
      // Packed with other sequences vs alone: same maths, float32 summation order may differ.
      expect(Math.sqrt(diff / norm)).toBeLessThan(1e-5);
    }
    const resumed = await collect(source(), 15);
    expect(resumed).toHaveLength(samples.length - 15);
    resumed.forEach((chunk, i) => expect(chunk).toEqual(chunks[15 + i]));
    expect(() => new ProbeActivationSource({ context, layer: 3, sampleCount: 1, readSamples: () => [] })).toThrow(/0\.\.2/);
  });

  it('trains a tied TopK SAE on the probe stream and the quality check confirms the fit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'facet-sae-probe-'));
    folders.push(dir);
    const trained = await trainTiedTopKSae({ source: source(), dSae: 256, k: 8, epochs: 4, batchTokens: 64, adam: { learningRate: 3e-3 }, validationFraction: 0.1, threads: 1, device: 'cpu', checkpointDir: dir });
    expect(trained.complete).toBe(true);
    const [first, last] = [trained.history[0]!, trained.history.at(-1)!];
    expect(last.validation!.normalisedMse).toBeLessThan(0.9 * first.validation!.normalisedMse);
    const { config, weights } = tiedTopKToSae(trained.parameters, trained.k, { modelFamily: 'forged-llama3', layer: 1 });
    const session = await SaeSession.create(config, weights, { threads: 1, provider: 'cpu' });
    const matched = await measureSaeQuality(session, source(), { context: { layer: 1, modelName: 'forged-llama3' } });
    const otherLayer = await measureSaeQuality(
      session,
      new ProbeActivationSource({ context, layer: 2, sampleCount: samples.length, readSamples: (offset, limit) => samples.slice(offset, offset + limit) }),
      { context: { layer: 2, modelName: 'forged-llama3' } },
    );
    await session.dispose();
    const m = matched.metrics!;
    expect(m.l0).toBeGreaterThan(0);
    expect(m.l0).toBeLessThanOrEqual(8);
    expect(m.fractionOfVarianceUnexplained).toBeLessThan(otherLayer.metrics!.fractionOfVarianceUnexplained);
    expect(matched.warnings.map((w) => w.code)).not.toContain('LAYER_MISMATCH');
    expect(otherLayer.warnings.map((w) => w.code)).toContain('LAYER_MISMATCH');
  });
});
