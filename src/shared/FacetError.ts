/**
 * Every expected failure in Facet is a FacetError with a stable `code`, a message a user can act
 * on (what, where, how to fix) and JSON-serialisable details. Errors cross process boundaries as
 * {@link WireError} objects, never as class instances.
 */
export type FacetErrorCode =
  // generic
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'CANCELLED'
  | 'INTERNAL'
  | 'UNAUTHORIZED'
  | 'PAYLOAD_TOO_LARGE'
  | 'WORKSPACE_INVALID'
  // store
  | 'STORE_NEWER_VERSION'
  | 'STORE_OPEN_FAILED'
  // datasets
  | 'DATASET_FILE_NOT_FOUND'
  | 'DATASET_LINE_INVALID'
  | 'DATASET_FORMAT_UNKNOWN'
  | 'DATASET_EMPTY'
  | 'DATASET_NAME_TAKEN'
  | 'DATASET_RECORD_TOO_LARGE'
  | 'DATASET_NESTING_TOO_DEEP'
  | 'DATASET_EXPANSION_TOO_LARGE'
  | 'DATASET_PATH_IS_DIRECTORY'
  | 'DATASET_FILE_SPECIAL'
  | 'DATASET_NOT_TEXT'
  // jobs
  | 'JOB_NOT_FOUND'
  | 'JOB_NOT_RESUMABLE'
  | 'JOB_CRASHED'
  | 'JOB_NOT_FINISHED'
  // models / llama (local-models issue)
  | 'GGUF_INVALID'
  | 'GGUF_TRUNCATED'
  | 'GGUF_VERSION_UNSUPPORTED'
  | 'GGUF_HPARAMS_INVALID'
  | 'GGUF_VOCAB_INVALID'
  | 'MODEL_PATH_IS_DIRECTORY'
  | 'MODEL_FILE_SPECIAL'
  | 'CONTEXT_OUT_OF_RANGE'
  | 'THREADS_OUT_OF_RANGE'
  | 'MODEL_PROCESS_CRASHED'
  | 'MODEL_FILE_NOT_FOUND'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_NAME_TAKEN'
  | 'MODEL_ARCH_UNSUPPORTED'
  | 'MODEL_LOAD_FAILED'
  | 'LAYER_OUT_OF_RANGE'
  | 'PROMPT_TOO_LONG'
  | 'ADDON_LOAD_FAILED'
  | 'DOWNLOAD_FAILED'
  // SAE (SAE issue)
  | 'SAE_FORMAT_UNKNOWN'
  | 'SAE_FILE_INVALID'
  | 'SAE_SHAPE_MISMATCH'
  | 'SAE_ARCH_UNKNOWN'
  | 'SAE_NAN'
  | 'SAE_NOT_FOUND'
  // generation, explanations and task relevance
  | 'NOT_A_CHAT_MODEL'
  | 'ENDPOINT_UNREACHABLE'
  | 'ENDPOINT_REFUSED'
  | 'ENDPOINT_TIMEOUT'
  | 'ENDPOINT_MALFORMED'
  | 'RUBRIC_INVALID'
  // synthesis
  | 'NO_MISSING_FEATURES'
  | 'TASK_SPEC_INVALID'
  | 'SCHEMA_UNSUPPORTED'
  | 'COHERENCE_UNMEASURABLE'
  | 'EXPORT_FAILED'
  // cross-model comparison
  | 'COMPARE_SPACE_MISMATCH'
  | 'COMPARE_TOO_FEW_SAMPLES'
  // coverage
  | 'COVERAGE_SAME_DATASET'
  | 'SYNTHESIS_NOTHING_KEPT';

export interface WireError {
  code: FacetErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class FacetError extends Error {
  readonly code: FacetErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: FacetErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FacetError';
    this.code = code;
    this.details = details;
  }

  toWire(): WireError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromWire(wire: WireError): FacetError {
    return new FacetError(wire.code, wire.message, wire.details);
  }
}

/** Converts anything thrown into a wire error; unexpected errors become INTERNAL. */
export function toWireError(error: unknown): WireError {
  if (error instanceof FacetError) return error.toWire();
  if (isAbortError(error)) return { code: 'CANCELLED', message: 'Cancelled.' };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: `Internal error: ${message}`, details: { stack: error instanceof Error ? error.stack : undefined } };
}

export function isAbortError(error: unknown): boolean {
  return (
    (error instanceof FacetError && error.code === 'CANCELLED') ||
    (typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError')
  );
}

/** Throws a CANCELLED FacetError if the signal has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new FacetError('CANCELLED', 'Cancelled.');
}
