import type { Migration } from '../Migration.ts';
import { migration0001Foundation } from './0001_foundation.ts';
import { migration0002Models } from './0002_models.ts';
import { migration0003Saes } from './0003_saes.ts';
import { migration0004Features } from './0004_features.ts';
import { migration0005Interpretation } from './0005_interpretation.ts';
import { migration0006Synthesis } from './0006_synthesis.ts';
import { migration0007Compare } from './0007_compare.ts';
import { migration0008JobDismissal } from './0008_job_dismissal.ts';
import { migration0009JobMetrics } from './0009_job_metrics.ts';

/**
 * Every schema step in order. Append only: a released migration never changes.
 * Each issue that needs tables adds one file `NNNN_<topic>.ts` and one entry here.
 */
export const migrations: readonly Migration[] = [migration0001Foundation, migration0002Models, migration0003Saes, migration0004Features, migration0005Interpretation, migration0006Synthesis, migration0007Compare, migration0008JobDismissal, migration0009JobMetrics];
