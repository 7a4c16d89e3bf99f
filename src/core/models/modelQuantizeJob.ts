import { rm } from 'node:fs/promises';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import type { Store } from '../store/Store.ts';
import { ModelService } from './ModelService.ts';
import { quantizeModel, type QuantizeRequest } from './quantizeModel.ts';

export const MODEL_QUANTIZE_JOB = 'model.quantize';

export interface ModelQuantizeParams extends QuantizeRequest {
  /** Register the quantized copy under this name. */
  name?: string;
}

export interface ModelQuantizeSummary {
  out: string;
  type: string;
  bytes: number;
  inputBytes: number;
  seconds: number;
  /** The registry name of the copy, when asked for. */
  registered: string | null;
}

/**
 * `facet models quantize` as a job, so every shell of the workspace sees it. llama.cpp's
 * quantizer is one native call: progress is 0 until it returns, and a cancel takes effect after it
 * (the finished copy is then removed, not registered).
 */
export function createModelQuantizeJob(store: Store): JobDefinition<ModelQuantizeParams, never, ModelQuantizeSummary> {
  return {
    kind: MODEL_QUANTIZE_JOB,
    title: (params) => `Quantize ${params.model} to ${params.type.toLowerCase()}${params.name !== undefined ? ` as '${params.name}'` : ''}`,
    async run(params, ctx) {
      const steps = params.name !== undefined ? 2 : 1;
      ctx.progress(0, steps);
      const result = await quantizeModel(store, params);
      if (ctx.signal.aborted) {
        await rm(result.out, { force: true });
        ctx.signal.throwIfAborted();
      }
      ctx.progress(1, steps);
      const registered = params.name === undefined ? null : (await new ModelService(store).add(result.out, { name: params.name, signal: ctx.signal })).model.name;
      ctx.progress(steps, steps);
      return { ...result, registered };
    },
  };
}
