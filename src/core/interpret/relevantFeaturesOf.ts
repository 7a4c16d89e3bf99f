import { FacetError } from '../../shared/FacetError.ts';
import type { Store } from '../store/Store.ts';
import { InterpretationRepository } from './InterpretationRepository.ts';

/**
 * F for a task: the features whose newest verdict is Yes, Probably or Maybe, and how many
 * anchor-active features have no verdict yet. Refused when nothing of the space was judged for it.
 */
export function relevantFeaturesOf(store: Store, spaceId: number, task: string, anchorActive: readonly number[]): { relevant: number[]; unjudged: number } {
  const repository = new InterpretationRepository(store.db);
  const verdicts = repository.latestVerdicts(spaceId, task);
  if (verdicts.size === 0) {
    const known = repository.tasks(spaceId);
    throw new FacetError('NOT_FOUND', `No feature of this space has been judged for '${task}'. Run 'facet features judge --task ${task}' with the same --model and --sae first.${known.length > 0 ? ` Judged tasks here: ${known.join(', ')}.` : ''}`, { task, spaceId });
  }
  return { relevant: repository.relevantFeatures(spaceId, task), unjudged: anchorActive.filter((feature) => !verdicts.has(feature)).length };
}
