import { FacetError } from '../../shared/FacetError.ts';
import type { NormalizedSample } from '../../shared/datasetTypes.ts';
import type { SynthesisRecord } from '../../shared/synthesisTypes.ts';
import { DatasetRepository } from '../datasets/DatasetRepository.ts';
import { FeatureIndexRepository } from '../features/FeatureIndexRepository.ts';
import { resolveFeatureSpace } from '../features/resolveFeatureSpace.ts';
import { SaeRegistry } from '../sae/SaeRegistry.ts';
import type { Store } from '../store/Store.ts';
import { FeatureMeter } from './FeatureMeter.ts';
import type { SynthesisRequest } from './synthesizeFeatures.ts';
import { SynthesisRepository } from './SynthesisRepository.ts';
import { replaceSyntheticSample } from './syntheticSamples.ts';

/**
 * A person's edit of an accepted sample: turn `turn` gets `text`, the edited sample is measured
 * again in the run's feature space (same model, SAE and rules as the index), and it replaces the
 * old one only when its target activation stays above δ. The dataset's index is dropped (stale).
 */
export async function editSyntheticSample(store: Store, home: string, sampleId: number, text: string, turn: number, options: { cpu?: boolean; threads?: number } = {}): Promise<SynthesisRecord> {
  const synthesis = new SynthesisRepository(store.db);
  const found = store.db.prepare<[number], { run_id: number; dataset_id: number; ordinal: number }>('SELECT p.run_id, s.dataset_id, s.ordinal FROM synthetic_samples p JOIN samples s ON s.id = p.sample_id WHERE p.sample_id = ?').get(sampleId);
  if (found === undefined) throw new FacetError('NOT_FOUND', `Sample ${sampleId} is not an accepted synthetic sample.`, { sampleId });
  const run = synthesis.run(found.run_id)!;
  const row = new DatasetRepository(store.db).sample(found.dataset_id, found.ordinal)!;
  if (!Number.isInteger(turn) || turn < 0 || turn >= row.turns.length) throw new FacetError('INVALID_ARGUMENT', `Sample ${sampleId} has turns 0..${row.turns.length - 1}; turn ${turn} does not exist.`, { sampleId, turn });
  if (text.trim() === '') throw new FacetError('INVALID_ARGUMENT', 'The edited text is empty. Drop the sample instead.', { sampleId });
  const edited: NormalizedSample = {
    turns: row.turns.map((entry, i) => (i === turn ? { role: entry.role, content: text } : entry)),
    ...(row.label !== undefined ? { label: row.label } : {}),
    ...(row.pair !== undefined ? { pair: row.pair } : {}),
    ...(row.meta !== undefined ? { meta: row.meta } : {}),
  };
  const request = run.request as SynthesisRequest;
  const space = new FeatureIndexRepository(store.db).space(run.spaceId);
  if (space === undefined) throw new FacetError('NOT_FOUND', `The feature space of synthesis run ${run.id} was removed.`, { runId: run.id });
  const resolved = await resolveFeatureSpace(store, home, request);
  const sae = new SaeRegistry(store, home).get(request.sae);
  const meter = await FeatureMeter.open(store, home, space, sae, resolved.modelPath, { ...(options.cpu ?? request.cpu ? { cpu: true } : {}), ...(options.threads ? { threads: options.threads } : {}) });
  try {
    const record = synthesis.provenance(run.id).find((entry) => entry.sampleId === sampleId)!.record;
    const [measured] = await meter.measure([edited]);
    return replaceSyntheticSample(store, sampleId, edited, measured!.activation(record.feature));
  } finally {
    await meter.dispose();
  }
}
