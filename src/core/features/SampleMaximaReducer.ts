import type { SparseCodes } from '../sae/SaeSession.ts';
import type { SampleFeatures } from './SampleFeatures.ts';

/**
 * Turns the SAE codes of one sample's token rows into its sample activation:
 * g_i = max over the rows of code i, with the position of the first row reaching it.
 * Rows are added one at a time (sparse or dense) between {@link begin} and {@link end}; scratch
 * arrays of length dSae are reused across samples (cleared through the touched list).
 */
export class SampleMaximaReducer {
  private readonly best: Float32Array;
  private readonly peak: Uint32Array;
  private readonly touched: Uint32Array;
  private readonly floor: number;
  private count = 0;

  /** `floor`: keep g_i > floor only (0 keeps every positive code). */
  constructor(dSae: number, floor = 0) {
    this.best = new Float32Array(dSae);
    this.peak = new Uint32Array(dSae);
    this.touched = new Uint32Array(dSae);
    this.floor = floor;
  }

  begin(): void {
    this.count = 0;
  }

  private update(feature: number, value: number, token: number): void {
    const current = this.best[feature]!;
    if (current === 0) this.touched[this.count++] = feature;
    if (value > current) {
      this.best[feature] = value;
      this.peak[feature] = token;
    }
  }

  /** Row `row` of sparse codes (positive entries only) at token position `token`. */
  addSparseRow(codes: SparseCodes, row: number, token: number): void {
    const end = codes.rowStart[row + 1]!;
    for (let e = codes.rowStart[row]!; e < end; e++) this.update(codes.indices[e]!, codes.values[e]!, token);
  }

  /** One dense row of codes `[dSae]` at token position `token`. */
  addDenseRow(codes: Float32Array, token: number): void {
    for (let feature = 0; feature < codes.length; feature++) {
      const value = codes[feature]!;
      if (value > 0) this.update(feature, value, token);
    }
  }

  /** The sample activation of the rows added since {@link begin}. */
  end(): SampleFeatures {
    const { best, peak, count } = this;
    const order = this.touched.subarray(0, count).sort();
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
    this.count = 0;
    return out;
  }

  /**
   * Sparse rows `firstRow .. firstRow + rows − 1` of `codes` are token positions `firstToken ..`
   * of one sample.
   */
  reduce(codes: SparseCodes, firstRow: number, rows: number, firstToken: number): SampleFeatures {
    this.begin();
    for (let r = 0; r < rows; r++) this.addSparseRow(codes, firstRow + r, firstToken + r);
    return this.end();
  }
}
