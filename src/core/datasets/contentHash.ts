import { createHash } from 'node:crypto';
import type { NormalizedSample } from '../../shared/datasetTypes.ts';

/** Identity of a sample's content (turns, label, pair; not metadata): 128-bit hex of SHA-256. */
export function contentHash(sample: NormalizedSample): string {
  const content = JSON.stringify([sample.turns, sample.label ?? null, sample.pair ?? null]);
  return createHash('sha256').update(content).digest('hex').slice(0, 32);
}
