import { adamUpdate, type AdamHyperparameters } from './adamUpdate.ts';
import type { BatchStatistics, TiedTopKStepSession } from './TiedTopKStepSession.ts';
import { parameterArrays, type TiedTopKParameters } from './TiedTopKParameters.ts';

/** Parameters with their gradient buffer and Adam moments (all the same shapes). */
export interface TrainingState {
  parameters: TiedTopKParameters;
  gradient: TiedTopKParameters;
  firstMoment: TiedTopKParameters;
  secondMoment: TiedTopKParameters;
}

/**
 * One optimiser step on `batch` `[rows, dIn]`: zero the gradient, forward + backward graph
 * (scatter-adding the sparse weight gradient), Adam update of W, b_enc and b_dec in place.
 * `step` is the 1-based Adam step number. `timings` (if given) receives the milliseconds of the
 * graphs with the scatter-add, and of the Adam update.
 */
export async function runTrainingStep(
  session: TiedTopKStepSession,
  state: TrainingState,
  batch: Float32Array,
  k: number,
  step: number,
  adam: AdamHyperparameters,
  featureFires?: Float64Array,
  timings?: { graphMs: number; adamMs: number },
): Promise<BatchStatistics> {
  for (const array of parameterArrays(state.gradient)) array.fill(0);
  const started = performance.now();
  const stats = await session.gradient(state.parameters, batch, k, state.gradient, featureFires ? { featureFires } : {});
  const graphDone = performance.now();
  const parameters = parameterArrays(state.parameters);
  const gradient = parameterArrays(state.gradient);
  const first = parameterArrays(state.firstMoment);
  const second = parameterArrays(state.secondMoment);
  for (let i = 0; i < 3; i++) adamUpdate(parameters[i]!, gradient[i]!, first[i]!, second[i]!, step, adam);
  if (timings) {
    timings.graphMs = graphDone - started;
    timings.adamMs = performance.now() - graphDone;
  }
  return stats;
}
