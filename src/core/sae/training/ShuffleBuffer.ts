import type { CheckpointableRandom } from './CheckpointableRandom.ts';

/**
 * Rows waiting to be drawn into training batches: chunks are appended whole, batches are drawn
 * uniformly at random without replacement (swap-remove), so tokens of one sample spread over
 * several batches. The contents are saved in checkpoints so a resumed run draws the same batches.
 */
export class ShuffleBuffer {
  readonly dIn: number;
  private data: Float32Array;
  private count = 0;

  constructor(dIn: number, initialRows: number, saved?: Float32Array) {
    this.dIn = dIn;
    this.data = new Float32Array(Math.max(initialRows, saved ? saved.length / dIn : 0, 1) * dIn);
    if (saved) {
      this.data.set(saved);
      this.count = saved.length / dIn;
    }
  }

  get rows(): number {
    return this.count;
  }

  /** The rows held now `[rows, dIn]` (a view; valid until the next append or draw). */
  view(): Float32Array {
    return this.data.subarray(0, this.count * this.dIn);
  }

  append(chunk: Float32Array): void {
    const needed = (this.count * this.dIn + chunk.length);
    if (needed > this.data.length) {
      const grown = new Float32Array(Math.max(needed, Math.ceil(this.data.length * 1.5)));
      grown.set(this.view());
      this.data = grown;
    }
    this.data.set(chunk, this.count * this.dIn);
    this.count += chunk.length / this.dIn;
  }

  /** Moves `rows` random rows into `into` (`[rows, dIn]`). */
  draw(rows: number, random: CheckpointableRandom, into: Float32Array): void {
    const { dIn } = this;
    for (let r = 0; r < rows; r++) {
      const pick = random.below(this.count);
      into.set(this.data.subarray(pick * dIn, (pick + 1) * dIn), r * dIn);
      const last = this.count - 1;
      if (pick !== last) this.data.copyWithin(pick * dIn, last * dIn, (last + 1) * dIn);
      this.count = last;
    }
  }
}
