import { FacetError, type FacetErrorCode } from '../../shared/FacetError.ts';
import type { NativeCodedError } from './ProbeAddon.ts';

const knownCodes = new Set<string>([
  'INVALID_ARGUMENT', 'CANCELLED', 'INTERNAL', 'MODEL_LOAD_FAILED', 'MODEL_ARCH_UNSUPPORTED',
  'LAYER_OUT_OF_RANGE', 'PROMPT_TOO_LONG', 'ADDON_LOAD_FAILED',
] satisfies FacetErrorCode[]);

/** Turns an error thrown by the probe addon into a FacetError whose message names the model file. */
export function fromNativeError(error: unknown, where: string, details: Record<string, unknown> = {}): FacetError {
  if (error instanceof FacetError) return error;
  const native = error as NativeCodedError;
  const code = (typeof native?.facetCode === 'string' && knownCodes.has(native.facetCode) ? native.facetCode : 'INTERNAL') as FacetErrorCode;
  const message = native instanceof Error ? native.message : String(error);
  if (code === 'CANCELLED') return new FacetError('CANCELLED', 'Cancelled.');
  return new FacetError(code, `${where}: ${message}`, details, { cause: error });
}
