import { FacetError } from '../../../shared/FacetError.ts';
import { MAX_SAE_LAYER } from '../../../core/sae/SaeConfig.ts';
import type { SaeRecord } from '../../../core/sae/SaeRepository.ts';
import type { SaeProvider } from '../../../core/sae/SaeSession.ts';

/** Parsing and printing shared by the `facet sae` subcommands. */

export function parseLayer(text: string): number {
  const layer = /^\d{1,4}$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isInteger(layer) || layer < 0 || layer > MAX_SAE_LAYER) throw new FacetError('INVALID_ARGUMENT', `--layer must be a llama.cpp l_out index, a whole number from 0 to ${MAX_SAE_LAYER}, got '${text}'.`);
  return layer;
}

export function parsePositiveInteger(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new FacetError('INVALID_ARGUMENT', `--${option} must be a positive integer, got '${text}'.`);
  return value;
}

export function parseProvider(text: string | undefined): SaeProvider {
  const value = text ?? 'auto';
  if (value !== 'auto' && value !== 'cpu' && value !== 'cuda') throw new FacetError('INVALID_ARGUMENT', `--provider must be auto, cpu or cuda, got '${value}'.`);
  return value;
}

/** The JSON shape `--json` prints for an SAE. */
export function recordSummary(record: SaeRecord): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    format: record.format,
    architecture: record.architecture,
    dIn: record.dIn,
    dSae: record.dSae,
    k: record.k,
    layer: record.layer,
    modelFamily: record.modelFamily,
    hash: record.hash,
    sourceHook: record.config.source.hookName,
    activationUnits: record.config.source.activationUnits ?? null,
    notes: record.config.source.notes,
  };
}
