/**
 * A job's own process ({@link jobProcessLauncher}): `node jobProcessEntry.ts <home> <job id>`
 * runs the job the engine claimed, writing progress, checkpoints and the result to the
 * workspace database, then exits. When the engine goes away (its IPC channel closes), it stops;
 * the next engine resumes the job from its checkpoint.
 */
import { FacetEngine } from './FacetEngine.ts';

const [home, id] = process.argv.slice(2);
if (home === undefined || id === undefined) {
  process.stderr.write('usage: jobProcessEntry.ts <home> <job id>\n');
  process.exit(2);
}
const onParentGone = (): void => process.exit(1);
process.once('disconnect', onParentGone);
const engine = new FacetEngine({ home, shell: 'cli', resumeInterrupted: false });
try {
  await engine.jobs.runClaimed(id);
} finally {
  await engine.close();
  process.off('disconnect', onParentGone);
  if (process.connected) process.disconnect();
}
