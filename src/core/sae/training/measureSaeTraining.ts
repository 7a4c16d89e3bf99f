import { availableParallelism } from 'node:os';
import { AdamGraphSession } from './AdamGraphSession.ts';
import { adamUpdate, DEFAULT_ADAM } from './AdamOptimizer.ts';
import { runTrainingStep } from './runTrainingStep.ts';
import { SeededRandom } from './SeededRandom.ts';
import { SparseDirectionsSource } from './SparseDirectionsSource.ts';
import { TiedTopKStepSession } from './TiedTopKStepSession.ts';
import { zerosLike } from './TiedTopKParameters.ts';
import { initialParameters } from './trainTiedTopKSae.ts';

export interface SaeTrainingMeasurement {
  dIn: number;
  dSae: number;
  k: number;
  batchTokens: number;
  threads: number;
  device: 'cpu' | 'cuda';
  /** Timed steps (after one warm-up step). */
  steps: number;
  /** Training tokens per second of whole optimiser steps (graph + scatter + Adam). */
  trainTokPerSec: number;
  /** Mean milliseconds per step, and the part spent in the forward/backward graph. */
  stepMs: number;
  graphMs: number;
  /** Adam over `adamElements` floats: typed-array loop vs an onnxruntime graph, ms per update. */
  adamElements: number;
  adamTypedArrayMs: number;
  adamOnnxMs: number;
}

/**
 * Measures SAE training throughput at the paper's shape by default (d_in 4096 → 65,536, K 20):
 * one warm-up step, then `steps` timed optimiser steps on synthetic sparse activations. Needs
 * about 5 GiB of memory at that shape (weights, gradient and two Adam moments, 1 GiB each).
 * Also times the Adam update both ways (typed arrays vs an ORT graph) on 2^24 floats.
 */
export async function measureSaeTraining(
  options: { dIn?: number; dSae?: number; k?: number; batchTokens?: number; steps?: number; threads?: number; log?: (line: string) => void } = {},
): Promise<SaeTrainingMeasurement> {
  const dIn = options.dIn ?? 4096;
  const dSae = options.dSae ?? 65_536;
  const k = options.k ?? 20;
  const batchTokens = options.batchTokens ?? 1024;
  const steps = options.steps ?? 2;
  const threads = options.threads ?? availableParallelism();
  const log = options.log ?? (() => {});

  const random = new SeededRandom(1);
  let started = performance.now();
  const parameters = initialParameters(dIn, dSae, random);
  const state = { parameters, gradient: zerosLike(parameters), firstMoment: zerosLike(parameters), secondMoment: zerosLike(parameters) };
  log(`init ${dIn}→${dSae}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const source = new SparseDirectionsSource({ dIn, directions: 4 * dIn, activePerRow: 16, chunks: steps + 1, rowsPerChunk: batchTokens, noise: 0, seed: 2 });
  const session = await TiedTopKStepSession.create({ dIn, dSae, threads, device: 'auto' });
  let stepMs = 0;
  let graphMs = 0;
  try {
    for (let s = 0; s <= steps; s++) {
      const batch = source.chunk(s);
      if (s === 0) {
        const mean = new Float64Array(dIn);
        for (let j = 0; j < batchTokens; j++) for (let i = 0; i < dIn; i++) mean[i]! += batch[j * dIn + i]! / batchTokens;
        parameters.decoderBias.set(mean);
      }
      started = performance.now();
      await runTrainingStep(session, state, batch, k, s + 1, DEFAULT_ADAM);
      const elapsed = performance.now() - started;
      // Graph share: the same forward/backward once more without Adam (not counted in stepMs).
      if (s > 0) {
        stepMs += elapsed;
        const graphStarted = performance.now();
        await session.gradient(parameters, batch, k, state.gradient);
        graphMs += performance.now() - graphStarted;
      }
      log(`step ${s + 1}${s === 0 ? ' (warm-up)' : ''}: ${(elapsed / 1000).toFixed(2)} s`);
    }
  } finally {
    await session.dispose();
  }

  const adamElements = 2 ** 24;
  const p = state.parameters.weight.subarray(0, adamElements);
  const g = state.gradient.weight.subarray(0, adamElements);
  const m = state.firstMoment.weight.subarray(0, adamElements);
  const v = state.secondMoment.weight.subarray(0, adamElements);
  const timeIt = async (run: (step: number) => void | Promise<void>) => {
    await run(100);
    const t = performance.now();
    for (let i = 0; i < 3; i++) await run(101 + i);
    return (performance.now() - t) / 3;
  };
  const adamTypedArrayMs = await timeIt((step) => adamUpdate(p, g, m, v, step, DEFAULT_ADAM));
  const adamGraph = await AdamGraphSession.create({ threads });
  let adamOnnxMs: number;
  try {
    adamOnnxMs = await timeIt((step) => adamGraph.update(p, g, m, v, step, DEFAULT_ADAM));
  } finally {
    await adamGraph.dispose();
  }
  return {
    dIn,
    dSae,
    k,
    batchTokens,
    threads,
    device: session.device,
    steps,
    trainTokPerSec: (batchTokens * steps) / (stepMs / 1000),
    stepMs: stepMs / steps,
    graphMs: graphMs / steps,
    adamElements,
    adamTypedArrayMs,
    adamOnnxMs,
  };
}
