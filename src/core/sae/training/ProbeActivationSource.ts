import { FacetError, throwIfAborted } from '../../../shared/FacetError.ts';
import type { ProbeContext } from '../../llama/ProbeContext.ts';
import type { SampleInput } from '../../llama/ProbeModel.ts';
import type { ActivationSource } from './ActivationSource.ts';

export interface ProbeActivationSourceOptions {
  /** A context of the model to run (its model applies the chat template). */
  context: ProbeContext;
  /** llama.cpp 0-based block index: `l_out-<layer>`, the residual after that block. */
  layer: number;
  /** Number of samples in the dataset. */
  sampleCount: number;
  /** Samples `offset .. offset+limit−1` in a fixed order (e.g. a dataset page by ordinal). */
  readSamples(offset: number, limit: number): SampleInput[];
  /** Truncate each templated sample to this many tokens. Defaults to 512 (the paper). */
  maxTokens?: number;
  /** Wrap samples in the model's chat template. Defaults to true. */
  template?: boolean;
  /** Samples per capture call. Defaults to 16. */
  samplesPerCapture?: number;
}

/**
 * Streams residuals from the llama probe: one chunk per dataset sample, holding the rows of
 * `l_out-<layer>` at token positions t ≥ t0 (after the chat-template prefix), `[tokens − t0, n_embd]`.
 * A sample with no such tokens yields an empty chunk, so chunk i is always sample i and resuming
 * at chunk i runs the model only from the start of sample i's capture group.
 */
export class ProbeActivationSource implements ActivationSource {
  readonly dIn: number;
  readonly chunkCount: number;
  private readonly options: ProbeActivationSourceOptions;

  constructor(options: ProbeActivationSourceOptions) {
    const { info, path } = options.context.model;
    if (!Number.isInteger(options.layer) || options.layer < 0 || options.layer >= info.nLayer) {
      throw new FacetError('LAYER_OUT_OF_RANGE', `Layer ${options.layer} does not exist in ${path}: it has ${info.nLayer} blocks, so --layer must be 0..${info.nLayer - 1} (0-based l_out index; the paper's "layer 16" is 15).`, { layer: options.layer, blocks: info.nLayer });
    }
    this.options = options;
    this.dIn = info.nEmbd;
    this.chunkCount = options.sampleCount;
  }

  async *chunks({ startChunk, signal }: { startChunk: number; signal?: AbortSignal }): AsyncIterable<Float32Array> {
    const { context, layer, sampleCount } = this.options;
    const model = context.model;
    const group = this.options.samplesPerCapture ?? 16;
    const maxTokens = this.options.maxTokens ?? 512;
    const template = this.options.template ?? true;
    const dIn = this.dIn;
    // Groups start at multiples of `group` whatever startChunk is, so a resumed pass captures
    // exactly the same batches as an uninterrupted one (identical numbers, not just close).
    for (let offset = startChunk - (startChunk % group); offset < sampleCount; offset += group) {
      throwIfAborted(signal);
      const inputs = this.options.readSamples(offset, Math.min(group, sampleCount - offset));
      const prepared = inputs.map((input) => model.prepare(input, { template, maxTokens }));
      const runnable = prepared.filter((sample) => sample.tokens.length > 0);
      const captured = runnable.length === 0 ? null : await context.capture(runnable.map((sample) => sample.tokens), { layers: [layer], ...(signal ? { signal } : {}) });
      const rows = captured?.activations.get(layer);
      let next = 0;
      for (const [index, sample] of prepared.entries()) {
        const skip = offset + index < startChunk;
        if (sample.tokens.length === 0 || rows === undefined || captured === null) {
          if (!skip) yield new Float32Array(0);
          continue;
        }
        const start = captured.offsets[next]! + sample.t0;
        const end = captured.offsets[next]! + captured.lengths[next]!;
        next += 1;
        if (!skip) yield rows.subarray(start * dIn, end * dIn);
      }
      if (inputs.length === 0) return;
    }
  }
}
