import type { ModelSummary } from '../../shared/registryTypes.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import type { Store } from '../store/Store.ts';
import { ModelService, type PullModelOptions } from './ModelService.ts';
import { toModelSummary } from './toModelSummary.ts';

export interface ModelPullParams {
  /** `hf:<user>/<repo>:<quant>`, `hf:<user>/<repo>/<file>.gguf` or an http(s) URL. */
  uri: string;
  name?: string;
  /** Give up after this many seconds without data. */
  stallTimeoutSeconds?: number;
}

/**
 * Downloads and registers a model as a job (`model.pull`): progress in bytes downloaded of the
 * file's size; cancel leaves nothing behind ({@link ModelService.pull}).
 */
export function createModelPullJob(store: Store, options: { huggingFaceEndpoint?: string } = {}): JobDefinition<ModelPullParams, never, ModelSummary & { alreadyRegistered: boolean }> {
  const service = new ModelService(store);
  return {
    kind: 'model.pull',
    title: (params) => `Download model ${params.uri}`,
    async run(params, ctx) {
      const pullOptions: PullModelOptions = {
        ...(params.name !== undefined ? { name: params.name } : {}),
        ...(params.stallTimeoutSeconds !== undefined ? { stallTimeoutMs: params.stallTimeoutSeconds * 1000 } : {}),
        ...(options.huggingFaceEndpoint !== undefined ? { huggingFaceEndpoint: options.huggingFaceEndpoint } : {}),
        signal: ctx.signal,
        onProgress: (progress) => {
          if (progress.phase === 'download') ctx.progress(progress.done, progress.total ?? null);
        },
      };
      const { model, alreadyRegistered } = await service.pull(params.uri, pullOptions);
      return { ...toModelSummary(model), alreadyRegistered };
    },
  };
}
