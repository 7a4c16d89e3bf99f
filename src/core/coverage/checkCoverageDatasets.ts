import { FacetError } from '../../shared/FacetError.ts';
import type { CoverageCheck, CoverageWarning } from '../../shared/coverageTypes.ts';
import type { DatasetSummary } from '../../shared/datasetTypes.ts';
import { resolveIndexDataset } from '../features/resolveFeatureSpace.ts';
import type { Store } from '../store/Store.ts';

type Picked = Pick<DatasetSummary, 'id' | 'name' | 'role'>;

const aRole = (role: string): string => `${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role}`;

/**
 * What is wrong with measuring `seed` against `anchor` (and `eval`), by dataset identity and role.
 *
 * - anchor = seed is an error: FAC is 100% by construction and no feature can be missing, so the
 *   run would answer nothing (and a synthesis from it would have nothing to target).
 * - A dataset used in a role it was not registered for is a warning: the numbers are well defined
 *   (someone may measure an eval set against an anchor on purpose), but usually a pick went wrong.
 *   An evaluated set equal to the anchor (every missing feature covered, a sanity check) or to the
 *   seed (none covered) is a warning for the same reason.
 */
export function coverageDatasetCheck(anchor: Picked, seed: Picked, evaluated?: Picked): CoverageCheck {
  if (anchor.id === seed.id) {
    return {
      warnings: [],
      error: { code: 'COVERAGE_SAME_DATASET', message: `The anchor and the seed are the same dataset ('${anchor.name}'): FAC would be 100% by construction and no feature could be missing. Pick a different seed (or anchor) dataset.` },
    };
  }
  const warnings: CoverageWarning[] = [];
  if (anchor.role !== 'anchor') {
    warnings.push({ code: 'ANCHOR_ROLE_MISMATCH', field: 'anchor', message: `'${anchor.name}' is registered as ${aRole(anchor.role)} set but is used as the anchor (the reference set P whose features should be covered).` });
  }
  if (seed.role !== 'seed' && seed.role !== 'synthetic') {
    warnings.push({ code: 'SEED_ROLE_MISMATCH', field: 'seed', message: `'${seed.name}' is registered as ${aRole(seed.role)} set but is used as the seed (the set whose coverage is measured).` });
  }
  if (evaluated !== undefined) {
    if (evaluated.id === anchor.id) {
      warnings.push({ code: 'EVAL_IS_ANCHOR', field: 'eval', message: `The evaluated set is the anchor itself ('${anchor.name}'): it activates every missing feature by construction (a sanity check, not a measurement).` });
    } else if (evaluated.id === seed.id) {
      warnings.push({ code: 'EVAL_IS_SEED', field: 'eval', message: `The evaluated set is the seed itself ('${seed.name}'): it activates none of the missing features by construction.` });
    } else if (evaluated.role === 'anchor') {
      warnings.push({ code: 'EVAL_ROLE_MISMATCH', field: 'eval', message: `'${evaluated.name}' is registered as an anchor set but is used as the evaluated set (usually synthesized data or an eval set).` });
    }
  }
  return { warnings, error: null };
}

/** {@link coverageDatasetCheck} on registered dataset names or ids (each must exist and be ready). */
export function checkCoverageDatasets(store: Store, anchor: string, seed: string, evaluated?: string): CoverageCheck {
  return coverageDatasetCheck(resolveIndexDataset(store, anchor), resolveIndexDataset(store, seed), evaluated === undefined ? undefined : resolveIndexDataset(store, evaluated));
}

/** The warnings of {@link checkCoverageDatasets}; throws its error (COVERAGE_SAME_DATASET) instead when there is one. */
export function requireCoverageDatasets(store: Store, anchor: string, seed: string, evaluated?: string): CoverageWarning[] {
  const check = checkCoverageDatasets(store, anchor, seed, evaluated);
  if (check.error !== null) throw new FacetError('COVERAGE_SAME_DATASET', check.error.message, { anchor, seed });
  return check.warnings;
}
