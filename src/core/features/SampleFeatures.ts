import { FacetError } from '../../shared/FacetError.ts';

/**
 * The sparse sample activation of one sample: g_i = max over token positions t ≥ t0 of feature
 * i's code, for every feature with g_i above the space's storage floor (0: every positive code).
 */
export interface SampleFeatures {
  /** Feature ids, ascending. */
  features: Uint32Array;
  /** g_i of each listed feature. */
  values: Float32Array;
  /** Token position (0-based, in the templated token sequence) where each g_i peaks; first position on ties. */
  peaks: Uint32Array;
}

/** Blob layout: n × u32 features, n × f32 values, n × u32 peaks (platform byte order: little-endian on every supported CPU). */
export function encodeSampleFeatures(sample: SampleFeatures): Buffer {
  const n = sample.features.length;
  const buffer = Buffer.allocUnsafe(n * 12);
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  bytes.set(new Uint8Array(sample.features.buffer, sample.features.byteOffset, n * 4), 0);
  bytes.set(new Uint8Array(sample.values.buffer, sample.values.byteOffset, n * 4), n * 4);
  bytes.set(new Uint8Array(sample.peaks.buffer, sample.peaks.byteOffset, n * 4), n * 8);
  return buffer;
}

export function decodeSampleFeatures(blob: Uint8Array): SampleFeatures {
  if (blob.byteLength % 12 !== 0) throw new FacetError('INTERNAL', `A feature-index sample blob has ${blob.byteLength} bytes, not a multiple of 12: the index is damaged. Remove the index and build it again.`);
  const n = blob.byteLength / 12;
  // copy once into an aligned buffer (SQLite blobs may start at any byte offset)
  const aligned = new Uint8Array(blob.byteLength);
  aligned.set(blob);
  return {
    features: new Uint32Array(aligned.buffer, 0, n),
    values: new Float32Array(aligned.buffer, n * 4, n),
    peaks: new Uint32Array(aligned.buffer, n * 8, n),
  };
}

/** A typed-array view of a blob, copied when the blob is not aligned to the element size. */
export function blobAsFloat32(blob: Uint8Array): Float32Array {
  if (blob.byteOffset % 4 === 0) return new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
  return new Float32Array(Uint8Array.from(blob).buffer);
}

export function blobAsUint32(blob: Uint8Array): Uint32Array {
  if (blob.byteOffset % 4 === 0) return new Uint32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
  return new Uint32Array(Uint8Array.from(blob).buffer);
}

export function blobAsFloat64(blob: Uint8Array): Float64Array {
  if (blob.byteOffset % 8 === 0) return new Float64Array(blob.buffer, blob.byteOffset, blob.byteLength / 8);
  return new Float64Array(Uint8Array.from(blob).buffer);
}

/** The bytes of a typed array as a Buffer (no copy). */
export function typedArrayBlob(array: Float32Array | Float64Array | Uint32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}
