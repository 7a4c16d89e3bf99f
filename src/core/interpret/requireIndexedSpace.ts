import { stat } from 'node:fs/promises';
import { FacetError } from '../../shared/FacetError.ts';
import { FeatureIndexRepository, type FeatureSpaceRecord } from '../features/FeatureIndexRepository.ts';
import { resolveFeatureSpace, type FeatureSpaceParams } from '../features/resolveFeatureSpace.ts';
import { ModelRepository } from '../models/ModelRepository.ts';
import type { Store } from '../store/Store.ts';

/** A feature space named by its id (the UI), or by model + SAE and options (the CLI). */
export interface SpaceReference extends Partial<FeatureSpaceParams> {
  spaceId?: number;
}

/** How a space reference reads in job titles. */
export function describeSpaceReference(reference: SpaceReference): string {
  return reference.spaceId !== undefined ? `feature space ${reference.spaceId}` : `${reference.model} (SAE ${reference.sae})`;
}

/**
 * The model file a space was indexed with: the registered model with its content hash, else the
 * file its `path:size:mtime` identity names, if it is still there unchanged.
 */
async function modelPathOfSpace(store: Store, space: FeatureSpaceRecord): Promise<string> {
  const registered = new ModelRepository(store.db).list().find((model) => model.contentHash === space.modelHash);
  if (registered !== undefined) return registered.path;
  const byPath = /^(.*):(\d+):([\d.]+)$/.exec(space.modelHash);
  if (byPath !== null) {
    const info = await stat(byPath[1]!).catch(() => undefined);
    if (info !== undefined && info.isFile() && info.size === Number(byPath[2])) return byPath[1]!;
  }
  throw new FacetError('MODEL_NOT_FOUND', `The model feature space ${space.id} was indexed with (${space.modelName}) is neither registered nor at its old path. Register it ('facet models add <file.gguf>') or name the space by --model and --sae.`, { spaceId: space.id });
}

/** The space a request names; it must have been indexed. */
export async function requireIndexedSpace(store: Store, home: string, reference: SpaceReference): Promise<{ space: FeatureSpaceRecord; modelPath: string }> {
  const repository = new FeatureIndexRepository(store.db);
  if (reference.spaceId !== undefined) {
    const space = repository.space(reference.spaceId);
    if (space === undefined) throw new FacetError('NOT_FOUND', `No feature space with id ${reference.spaceId}. List them with 'facet features list'.`, { spaceId: reference.spaceId });
    return { space, modelPath: await modelPathOfSpace(store, space) };
  }
  if (reference.model === undefined || reference.sae === undefined) {
    throw new FacetError('INVALID_ARGUMENT', 'Name the feature space: --model and --sae (with the options it was indexed with), or its id.');
  }
  const resolved = await resolveFeatureSpace(store, home, reference as FeatureSpaceParams);
  const space = repository.spaceByKey(resolved.space.key);
  if (space === undefined) {
    throw new FacetError('NOT_FOUND', `Nothing is indexed yet in the feature space of ${resolved.space.modelName} l_out-${resolved.space.layer} with SAE '${resolved.sae.name}'. Run 'facet features index' (or 'facet coverage') with the same --model, --sae and options first.`, { model: reference.model, sae: reference.sae });
  }
  return { space, modelPath: resolved.modelPath };
}
