import type { SynthesisCandidateView } from '../../shared/synthesisTypes.ts';
import type { Store } from '../store/Store.ts';
import { SynthesisRepository } from './SynthesisRepository.ts';
import { sampleText } from './synthesisTasks.ts';

/** A run's candidates with id above `afterId`, oldest first (the live view polls with the last id it has). */
export function listSynthesisCandidates(store: Store, runId: number, afterId: number, limit: number): SynthesisCandidateView[] {
  return new SynthesisRepository(store.db)
    .candidatesAfter(runId, afterId, limit)
    .map((candidate) => ({
      id: candidate.id,
      runId: candidate.runId,
      feature: candidate.feature,
      step: candidate.step,
      steering: candidate.steering,
      outcome: candidate.outcome,
      activation: candidate.activation,
      perplexity: candidate.perplexity,
      overlap: candidate.overlap,
      detail: candidate.detail,
      text: (candidate.sample !== null ? sampleText(candidate.sample) : candidate.raw).slice(0, 2000),
      sampleId: candidate.sampleId,
    }));
}
