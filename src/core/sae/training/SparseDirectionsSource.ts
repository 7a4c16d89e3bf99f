import type { ActivationSource } from './ActivationSource.ts';
import { CheckpointableRandom } from './CheckpointableRandom.ts';

export interface SparseDirectionsOptions {
  dIn: number;
  /** Number of ground-truth unit directions. */
  directions: number;
  /** Directions active in each row. */
  activePerRow: number;
  chunks: number;
  rowsPerChunk: number;
  /** Coefficients are uniform in [min, max] (positive). Defaults to [0.5, 1.5]. */
  coefficientRange?: [number, number];
  /** Standard deviation of added Gaussian noise per coordinate. Defaults to 0. */
  noise?: number;
  /** Constant offset added to every row (a non-zero data mean). Defaults to none. */
  offset?: Float32Array;
  seed?: number;
}

/**
 * Synthetic activations with known structure: each row is a sum of `activePerRow` distinct
 * ground-truth unit directions with positive coefficients. Chunk c is generated from (seed, c)
 * alone, so any chunk can be produced without the ones before it and every pass is identical.
 * Used by the ground-truth recovery test and the training benchmark.
 */
export class SparseDirectionsSource implements ActivationSource {
  readonly dIn: number;
  readonly chunkCount: number;
  /** `[directions, dIn]` row-major unit vectors. */
  readonly directions: Float32Array;
  private readonly options: SparseDirectionsOptions;

  constructor(options: SparseDirectionsOptions) {
    this.options = options;
    this.dIn = options.dIn;
    this.chunkCount = options.chunks;
    const random = new CheckpointableRandom((options.seed ?? 1) * 7919 + 17);
    this.directions = new Float32Array(options.directions * options.dIn);
    for (let f = 0; f < options.directions; f++) {
      let norm = 0;
      const row = this.directions.subarray(f * options.dIn, (f + 1) * options.dIn);
      for (let i = 0; i < options.dIn; i++) {
        row[i] = random.gaussian();
        norm += row[i]! * row[i]!;
      }
      for (let i = 0; i < options.dIn; i++) row[i]! /= Math.sqrt(norm);
    }
  }

  chunk(index: number): Float32Array {
    const { dIn, directions: count, activePerRow, rowsPerChunk } = this.options;
    const [low, high] = this.options.coefficientRange ?? [0.5, 1.5];
    const noise = this.options.noise ?? 0;
    const random = new CheckpointableRandom(Math.imul((this.options.seed ?? 1) + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77));
    const out = new Float32Array(rowsPerChunk * dIn);
    const chosen = new Set<number>();
    for (let j = 0; j < rowsPerChunk; j++) {
      const row = out.subarray(j * dIn, (j + 1) * dIn);
      chosen.clear();
      while (chosen.size < activePerRow) chosen.add(random.below(count));
      for (const f of chosen) {
        const coefficient = low + (high - low) * random.next();
        for (let i = 0; i < dIn; i++) row[i]! += coefficient * this.directions[f * dIn + i]!;
      }
      if (noise > 0) for (let i = 0; i < dIn; i++) row[i]! += noise * random.gaussian();
      if (this.options.offset) for (let i = 0; i < dIn; i++) row[i]! += this.options.offset[i]!;
    }
    return out;
  }

  async *chunks({ startChunk, signal }: { startChunk: number; signal?: AbortSignal }): AsyncIterable<Float32Array> {
    for (let c = startChunk; c < this.chunkCount; c++) {
      if (signal?.aborted) return;
      yield this.chunk(c);
    }
  }
}
