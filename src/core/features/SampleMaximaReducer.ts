import type { SparseCodes } from '../sae/SaeSession.ts';
import type { SampleFeatures } from './SampleFeatures.ts';

/**
 * Turns the sparse SAE codes of one sample's token rows into its sample activation:
 * g_i = max over the rows of code i, with the position of the first row reaching it.
 * Scratch arrays of length dSae are reused across samples (cleared through the touched list).
 */
export class SampleMaximaReducer {
  private readonly best: Float32Array;
  private readonly peak: Uint32Array;
  private readonly touched: Uint32Array;
  private readonly floor: number;

  /** `floor`: keep g_i > floor only (0 keeps every positive code). */
  constructor(dSae: number, floor = 0) {
    this.best = new Float32Array(dSae);
    this.peak = new Uint32Array(dSae);
    this.touched = new Uint32Array(dSae);
    this.floor = floor;
  }

  /**
   * `codes` rows `firstRow .. firstRow + rows − 1` are token positions `firstToken ..` of one
   * sample (only positive codes are present in `codes`).
   */
  reduce(codes: SparseCodes, firstRow: number, rows: number, firstToken: number): SampleFeatures {
    const { best, peak, touched } = this;
    let count = 0;
    for (let r = 0; r < rows; r++) {
      const row = firstRow + r;
      const end = codes.rowStart[row + 1]!;
      for (let e = codes.rowStart[row]!; e < end; e++) {
        const feature = codes.indices[e]!;
        const value = codes.values[e]!;
        const current = best[feature]!;
        if (current === 0) touched[count++] = feature;
        if (value > current) {
          best[feature] = value;
          peak[feature] = firstToken + r;
        }
      }
    }
    const order = touched.subarray(0, count).sort();
    let kept = 0;
    for (let i = 0; i < count; i++) if (best[order[i]!]! > this.floor) kept++;
    const out: SampleFeatures = { features: new Uint32Array(kept), values: new Float32Array(kept), peaks: new Uint32Array(kept) };
    let at = 0;
    for (let i = 0; i < count; i++) {
      const feature = order[i]!;
      const value = best[feature]!;
      if (value > this.floor) {
        out.features[at] = feature;
        out.values[at] = value;
        out.peaks[at] = peak[feature]!;
        at++;
      }
      best[feature] = 0;
    }
    return out;
  }
}
