import type { SaeSummary } from '../../shared/registryTypes.ts';
import type { SaeRecord } from './SaeRepository.ts';

export function toSaeSummary(sae: SaeRecord): SaeSummary {
  return {
    id: sae.id,
    name: sae.name,
    format: sae.format,
    architecture: sae.architecture,
    dIn: sae.dIn,
    dSae: sae.dSae,
    k: sae.k,
    layer: sae.layer,
    modelFamily: sae.modelFamily,
    hash: sae.hash,
    createdAt: sae.createdAt,
  };
}
