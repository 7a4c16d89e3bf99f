import { checkGeneratorChoice, type GeneratorChoice } from '../generation/openChatGenerator.ts';
import type { EndpointOptions } from '../generation/EndpointChatGenerator.ts';
import type { Store } from '../store/Store.ts';
import type { ExplainRequest } from './explainFeatures.ts';
import { requireIndexedSpace, type SpaceReference } from './requireIndexedSpace.ts';
import type { JudgeRequest } from './judgeFeatures.ts';
import type { FeatureSelection } from './selectFeatures.ts';
import { loadTaskRubric } from './taskRubrics.ts';

/** The fields an explain or judge request shares, as the API validates them. */
export interface InterpretationParams {
  /** The space by id (the UI), or by model + SAE and options (the CLI). */
  spaceId?: number | undefined;
  model?: string | undefined;
  sae?: string | undefined;
  layer?: number | undefined;
  encode?: 'topk' | 'dense-relu' | undefined;
  template: boolean;
  kv?: 'f16' | 'f32' | undefined;
  cpu: boolean;
  endpoint?: EndpointOptions | undefined;
  features: FeatureSelection | string;
  limit?: number | undefined;
  parallel: number;
  seed: number;
}

function spaceParams(params: InterpretationParams): SpaceReference {
  if (params.spaceId !== undefined) return { spaceId: params.spaceId };
  return {
    ...(params.model === undefined ? {} : { model: params.model }),
    ...(params.sae === undefined ? {} : { sae: params.sae }),
    template: params.template,
    ...(params.layer === undefined ? {} : { layer: params.layer }),
    ...(params.encode === undefined ? {} : { encode: params.encode }),
    ...(params.kv === undefined ? {} : { kv: params.kv }),
  };
}

function generatorChoice(params: InterpretationParams, model: string | undefined): GeneratorChoice {
  return {
    parallel: params.parallel,
    ...(params.cpu ? { cpu: true } : {}),
    ...(params.endpoint !== undefined ? { endpoint: params.endpoint } : model !== undefined ? { model } : {}),
  };
}

/**
 * Checks an explain request before it becomes a job (the space is indexed, the explainer or
 * endpoint exists), so a typo fails at once instead of inside the job.
 */
export async function prepareExplainRequest(store: Store, home: string, params: InterpretationParams & { explainer?: string | undefined; candidates: number }): Promise<ExplainRequest> {
  const request: ExplainRequest = {
    ...spaceParams(params),
    explainer: generatorChoice(params, params.explainer),
    features: params.features as FeatureSelection,
    candidates: params.candidates,
    seed: params.seed,
    ...(params.limit === undefined ? {} : { limit: params.limit }),
  };
  await requireIndexedSpace(store, home, request);
  await checkGeneratorChoice(store, request.explainer!);
  return request;
}

/** Same for judging; the rubric is read now, so a resumed job judges by the same text. */
export async function prepareJudgeRequest(store: Store, home: string, params: InterpretationParams & { task: string; judge?: string | undefined }): Promise<JudgeRequest> {
  const request: JudgeRequest = {
    ...spaceParams(params),
    rubric: await loadTaskRubric(params.task),
    judge: generatorChoice(params, params.judge),
    features: params.features as FeatureSelection,
    seed: params.seed,
    ...(params.limit === undefined ? {} : { limit: params.limit }),
  };
  await requireIndexedSpace(store, home, request);
  await checkGeneratorChoice(store, request.judge!);
  return request;
}
