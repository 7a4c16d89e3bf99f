import { availableParallelism } from 'node:os';
import { AdamGraphSession } from './AdamGraphSession.ts';
import { adamUpdate, DEFAULT_ADAM } from './adamUpdate.ts';
import { runTrainingStep } from './runTrainingStep.ts';
import { CheckpointableRandom } from './CheckpointableRandom.ts';
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
  /** Training tokens per second of a whole optimiser step (graphs + scatter + Adam), median step. */
  trainTokPerSec: number;
  /** Median milliseconds per step, and of the forward/backward graphs alone (with the scatter-add). */
  stepMs: number;
  graphMs: number;
  /** Every timed step, ms (the machine may be shared: the median resists outliers). */
  stepTimesMs: number[];
  /** Adam over `adamElements` floats: typed-array loop vs an onnxruntime graph, ms per update. */
  adamElements: number;
  adamTypedArrayMs: number;
  adamOnnxMs: number;
}

/**
 * Measures SAE training throughput at the paper's shape by default (d_in 4096 → 65,536, K 20):
 * one warm-up step, then `steps` (default 3) timed optimiser steps on synthetic sparse
 * activations; the median step gives the rate. Needs
 * about 5 GiB of memory at that shape (weights, gradient and two Adam moments, 1 GiB each).
 * Also times the Adam update both ways (typed arrays vs an ORT graph) on 2^24 floats.
 */
export async function measureSaeTraining(
  options: { dIn?: number; dSae?: number; k?: number; batchTokens?: number; steps?: number; threads?: number; log?: (line: string) => void } = {},
): Promise<SaeTrainingMeasurement> {
  const dIn = options.dIn ?? 4096;
  const dSae = options.dSae ?? 65_536;
  const k = options.k ?? 20;
  const batchTokens = options.batchTokens ?? 4096;
  const steps = options.steps ?? 3;
  const threads = options.threads ?? availableParallelism();
  const log = options.log ?? (() => {});

  const random = new CheckpointableRandom(1);
  let started = performance.now();
  const parameters = initialParameters(dIn, dSae, random);
  const state = { parameters, gradient: zerosLike(parameters), firstMoment: zerosLike(parameters), secondMoment: zerosLike(parameters) };
  log(`init ${dIn}→${dSae}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const source = new SparseDirectionsSource({ dIn, directions: 4 * dIn, activePerRow: 16, chunks: steps + 1, rowsPerChunk: batchTokens, noise: 0, seed: 2 });
  const session = await TiedTopKStepSession.create({ dIn, dSae, threads, device: 'auto' });
  const stepTimes: number[] = [];
  const graphTimes: number[] = [];
  try {
    for (let s = 0; s <= steps; s++) {
      const batch = source.chunk(s);
      if (s === 0) {
        const mean = new Float64Array(dIn);
        for (let j = 0; j < batchTokens; j++) for (let i = 0; i < dIn; i++) mean[i]! += batch[j * dIn + i]! / batchTokens;
        parameters.decoderBias.set(mean);
      }
      started = performance.now();
      const timings = { graphMs: 0, adamMs: 0 };
      await runTrainingStep(session, state, batch, k, s + 1, DEFAULT_ADAM, undefined, timings);
      const elapsed = performance.now() - started;
      if (s > 0) {
        stepTimes.push(elapsed);
        graphTimes.push(timings.graphMs);
      }
      log(`step ${s + 1}${s === 0 ? ' (warm-up)' : ''}: ${(elapsed / 1000).toFixed(2)} s (graphs + scatter ${(timings.graphMs / 1000).toFixed(2)} s, Adam ${(timings.adamMs / 1000).toFixed(2)} s)`);
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
    trainTokPerSec: batchTokens / (median(stepTimes) / 1000),
    stepMs: median(stepTimes),
    graphMs: median(graphTimes),
    stepTimesMs: stepTimes.map((ms) => Math.round(ms)),
    adamElements,
    adamTypedArrayMs,
    adamOnnxMs,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
