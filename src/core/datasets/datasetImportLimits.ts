/** Caps that keep one import from exhausting memory or running forever. */
export interface DatasetImportLimits {
  /** Longest record (a JSONL/text line, a JSON array element, a CSV row), in characters. */
  maxRecordChars: number;
  /** Decompressed bytes allowed per compressed byte of a .gz file (beyond {@link DatasetImportLimits.expansionFloorBytes}). */
  maxExpansionRatio: number;
  /** A .gz file may always expand to this many bytes, whatever the ratio. */
  expansionFloorBytes: number;
  /** Deepest nesting of arrays and objects in one JSON record. */
  maxNestingDepth: number;
}

export const defaultDatasetImportLimits: DatasetImportLimits = {
  maxRecordChars: 64 * 1024 * 1024,
  maxExpansionRatio: 200,
  expansionFloorBytes: 16 * 1024 * 1024,
  maxNestingDepth: 256,
};

/**
 * The limits in force: the defaults, changed by `FACET_MAX_RECORD_MB`, `FACET_MAX_GZIP_RATIO` and
 * `FACET_MAX_JSON_DEPTH` in the environment of the process that imports (CLI, `facet serve` or
 * the desktop engine), then by `overrides`. Values that are not positive numbers are ignored.
 */
export function datasetImportLimits(overrides: Partial<DatasetImportLimits> = {}, env: NodeJS.ProcessEnv = process.env): DatasetImportLimits {
  const number = (name: string): number | undefined => {
    const value = Number(env[name]);
    return env[name] !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
  };
  const recordMb = number('FACET_MAX_RECORD_MB');
  const ratio = number('FACET_MAX_GZIP_RATIO');
  const depth = number('FACET_MAX_JSON_DEPTH');
  return {
    ...defaultDatasetImportLimits,
    ...(recordMb !== undefined ? { maxRecordChars: Math.floor(recordMb * 1024 * 1024) } : {}),
    ...(ratio !== undefined ? { maxExpansionRatio: ratio } : {}),
    ...(depth !== undefined ? { maxNestingDepth: Math.floor(depth) } : {}),
    ...overrides,
  };
}

/** Whether a JSON text nests arrays/objects deeper than `maxDepth` (strings are skipped). Linear, no recursion. */
export function jsonNestsDeeperThan(text: string, maxDepth: number): boolean {
  if (text.length <= maxDepth) return false; // each level needs a bracket
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > maxDepth) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}
