import { afterAll, describe, expect, it } from 'vitest';
import { requireJudgedTask } from '../../src/core/coverage/requireJudgedTask.ts';
import type { ResolvedFeatureSpace } from '../../src/core/features/resolveFeatureSpace.ts';
import { InterpretationRepository } from '../../src/core/interpret/InterpretationRepository.ts';
import { FacetError } from '../../src/shared/FacetError.ts';
import { guiErrorText } from '../../src/renderer/src/guiErrorText.ts';
import { tempHome } from '../support/tempHome.ts';
import { forgeCoverageWorkspace } from './forgedCoverageWorkspace.ts';

describe('requireJudgedTask (coverage.run refuses an unjudged task before a job starts)', () => {
  const home = tempHome('facet-judged-task-');
  const { store, spaceId } = forgeCoverageWorkspace(home.path);
  afterAll(() => {
    store.close();
    home.remove();
  });
  const resolved = { space: { key: 'forged-space' } } as ResolvedFeatureSpace;
  const refusal = (task: string): FacetError => {
    try {
      requireJudgedTask(store, resolved, task);
    } catch (caught) {
      return caught as FacetError;
    }
    throw new Error(`'${task}' was accepted`);
  };

  it('names the field (param: task) and the tasks judged so far', () => {
    const error = refusal('no-such-task');
    expect(error).toBeInstanceOf(FacetError);
    expect(error.code).toBe('NOT_FOUND');
    expect(error.details).toMatchObject({ task: 'no-such-task', param: 'task', spaceId });
    expect(error.message).toContain("No feature of this space has been judged for 'no-such-task'");
    // the Coverage form tells it by its field, without the CLI advice
    const shown = guiErrorText(error, { controls: { task: 'Features F' } });
    expect(shown).toContain("'Features F'");
    expect(shown).not.toContain('facet features judge');
  });

  it('accepts a task with a verdict in the space, and lists it when another is refused', () => {
    new InterpretationRepository(store.db).insertVerdict({ spaceId, feature: 3, judge: 'j', judgeLabel: 'judge', promptVersion: 1, task: 'math', rubricHash: 'r', verdict: 'Yes', analysis: '', explanation: null, examples: [] });
    expect(() => requireJudgedTask(store, resolved, 'math')).not.toThrow();
    expect(refusal('code').message).toContain('Judged tasks here: math.');
  });

  it('refuses any task in a space not indexed yet (nothing can have been judged there)', () => {
    expect(() => requireJudgedTask(store, { space: { key: 'no-such-space' } } as ResolvedFeatureSpace, 'math')).toThrow(/judged for 'math'/);
  });
});
