import { FacetEngine } from '../engine/FacetEngine.ts';
import type { CliContext } from './CliContext.ts';

/** The in-process engine for one CLI command; jobs interrupted earlier are resumed only on request. */
export function openCliEngine(ctx: CliContext): FacetEngine {
  return new FacetEngine({ home: ctx.home, shell: 'cli', resumeInterrupted: false });
}
