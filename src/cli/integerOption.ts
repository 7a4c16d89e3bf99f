import { FacetError } from '../shared/FacetError.ts';

/** An optional integer command-line option ≥ `min`: undefined when absent, INVALID_ARGUMENT naming the flag when malformed. */
export function integerOption(value: string | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new FacetError('INVALID_ARGUMENT', `--${name} must be an integer ≥ ${min} (got '${value}').`);
  return Number(value);
}
