import type { SaeConfig, SaeFormat } from '../SaeConfig.ts';
import type { SaeWeights, WeightOrigin } from '../SaeWeights.ts';

/** What a loader returns: the config (hash filled in) and float32 weights in Facet's layout. */
export interface LoadedSae {
  config: SaeConfig;
  weights: SaeWeights;
  /** Where each weight came from, for error messages. */
  origins: Partial<Record<keyof SaeWeights, WeightOrigin>>;
}

export interface SaeLoadOptions {
  signal?: AbortSignal;
}

/**
 * One file format. `detect` is cheap (file names, no weights read); `load` reads and converts
 * everything and throws coded FacetErrors (`SAE_FILE_INVALID`, `SAE_SHAPE_MISMATCH`, `SAE_NAN`,
 * `SAE_ARCH_UNKNOWN`) that name the file, the place and the fix.
 */
export interface SaeLoader {
  format: SaeFormat;
  /** Whether the format is one file (`.pth`, `.sae.pt`) or a folder; `--format` on the other is refused. */
  kind: 'file' | 'folder';
  /** `path`: the folder (or the single file for `.pth`) the user gave. */
  detect(path: string): Promise<boolean>;
  load(path: string, options?: SaeLoadOptions): Promise<LoadedSae>;
}
