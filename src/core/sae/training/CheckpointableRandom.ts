/**
 * Small deterministic generator (SplitMix32-style integer hash of a 32-bit counter) whose whole
 * state is one uint32, so a training checkpoint can store it and resume the same draws
 * (the forge's SeededRandom keeps four words and a cached normal, so it cannot be saved).
 */
export class CheckpointableRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The state to store in a checkpoint; `new CheckpointableRandom(saved)` continues the sequence. */
  get savedState(): number {
    return this.state;
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  gaussian(): number {
    let u = this.next();
    while (u <= 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}
