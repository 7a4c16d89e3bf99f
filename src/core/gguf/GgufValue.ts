/**
 * A typed GGUF metadata value. The type travels with the value so that a file read and written
 * again keeps every key's exact on-disk type (llama.cpp rejects e.g. an int32 where it wants uint32).
 */
export type GgufNumberType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';
export type GgufBigIntType = 'uint64' | 'int64';
export type GgufScalarType = GgufNumberType | GgufBigIntType | 'bool' | 'string';

export type GgufScalarValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string };

export type GgufArrayValue =
  | { type: 'array'; elementType: GgufNumberType; value: readonly number[] }
  | { type: 'array'; elementType: GgufBigIntType; value: readonly bigint[] }
  | { type: 'array'; elementType: 'bool'; value: readonly boolean[] }
  | { type: 'array'; elementType: 'string'; value: readonly string[] };

export type GgufValue = GgufScalarValue | GgufArrayValue;

/** On-disk value type ids (GGUF v3). */
export const ggufTypeIds = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

export type GgufTypeName = keyof typeof ggufTypeIds;

const namesById = new Map<number, GgufTypeName>(Object.entries(ggufTypeIds).map(([name, id]) => [id, name as GgufTypeName]));

export function ggufTypeNameById(id: number): GgufTypeName | undefined {
  return namesById.get(id);
}

/** Shorthands for building metadata. */
export const gguf = {
  u32: (value: number): GgufValue => ({ type: 'uint32', value }),
  i32: (value: number): GgufValue => ({ type: 'int32', value }),
  f32: (value: number): GgufValue => ({ type: 'float32', value }),
  u64: (value: bigint): GgufValue => ({ type: 'uint64', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
};

/** The plain JS value (number, bigint, boolean, string or array of them). */
export function ggufPlainValue(value: GgufValue): number | bigint | boolean | string | readonly (number | bigint | boolean | string)[] {
  return value.value;
}
