import { basename } from 'node:path';
import type { ModelSummary } from '../../shared/registryTypes.ts';
import type { JobDefinition } from '../jobs/JobRunner.ts';
import type { Store } from '../store/Store.ts';
import { ModelService } from './ModelService.ts';
import { toModelSummary } from './toModelSummary.ts';

export interface ModelAddParams {
  path: string;
  name?: string;
}

/** Registers a GGUF file as a job: hashing a multi-GB file takes a while and can be cancelled. */
export function createModelAddJob(store: Store): JobDefinition<ModelAddParams, never, ModelSummary & { alreadyRegistered: boolean }> {
  const service = new ModelService(store);
  return {
    kind: 'model.add',
    title: (params) => `Register model ${basename(params.path)}`,
    async run(params, ctx) {
      const { model, alreadyRegistered } = await service.add(params.path, {
        ...(params.name !== undefined ? { name: params.name } : {}),
        signal: ctx.signal,
        onProgress: (progress) => ctx.progress(progress.done, progress.total ?? null),
      });
      return { ...toModelSummary(model), alreadyRegistered };
    },
  };
}
