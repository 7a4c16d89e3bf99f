import { FacetError } from '../../shared/FacetError.ts';
import { FeatureIndexRepository } from '../features/FeatureIndexRepository.ts';
import type { ResolvedFeatureSpace } from '../features/resolveFeatureSpace.ts';
import { InterpretationRepository } from '../interpret/InterpretationRepository.ts';
import type { Store } from '../store/Store.ts';

/**
 * Refuses a coverage task (F = the features judged relevant to it) that no feature of the space
 * was judged for, before a job starts: the same refusal the job would make after indexing, with
 * `details.param = 'task'` so a form names its field ('Features F').
 */
export function requireJudgedTask(store: Store, resolved: ResolvedFeatureSpace, task: string): void {
  const space = new FeatureIndexRepository(store.db).spaceByKey(resolved.space.key);
  const interpretations = new InterpretationRepository(store.db);
  if (space !== undefined && interpretations.latestVerdicts(space.id, task).size > 0) return;
  const known = space === undefined ? [] : interpretations.tasks(space.id);
  throw new FacetError(
    'NOT_FOUND',
    `No feature of this space has been judged for '${task}'. Run 'facet features judge --task ${task}' with the same --model and --sae first.${known.length > 0 ? ` Judged tasks here: ${known.join(', ')}.` : ' No task has been judged in this space yet.'}`,
    { task, param: 'task', ...(space !== undefined ? { spaceId: space.id } : {}), known },
  );
}
