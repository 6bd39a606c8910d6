/**
 * The ggml tensor types a GGUF file may hold: their ids (ggml.h's `enum ggml_type`) and block geometry. Values of
 * a row are stored in blocks of `blockValues` values taking `blockBytes` bytes; a row's length must be a whole
 * number of blocks.
 */
export interface GgmlType {
  readonly id: number;
  readonly name: string;
  readonly blockValues: number;
  readonly blockBytes: number;
}

const TYPES: readonly GgmlType[] = [
  { id: 0, name: 'F32', blockValues: 1, blockBytes: 4 },
  { id: 1, name: 'F16', blockValues: 1, blockBytes: 2 },
  // d (f16) + 16 bytes of 4-bit values.
  { id: 2, name: 'Q4_0', blockValues: 32, blockBytes: 18 },
  // d (f16) + 32 int8 values.
  { id: 8, name: 'Q8_0', blockValues: 32, blockBytes: 34 },
  // d, dmin (f16) + 12 bytes of 6-bit scales and mins + 128 bytes of 4-bit values.
  { id: 12, name: 'Q4_K', blockValues: 256, blockBytes: 144 },
  // As Q4_K + 32 bytes of fifth bits.
  { id: 13, name: 'Q5_K', blockValues: 256, blockBytes: 176 },
  // 128 bytes of low 4 bits + 64 of high 2 bits + 16 int8 scales + d (f16).
  { id: 14, name: 'Q6_K', blockValues: 256, blockBytes: 210 },
  { id: 30, name: 'BF16', blockValues: 1, blockBytes: 2 },
];

/** Names of ggml types this reader does not take, for a clear error (the rest of ggml.h's enum). */
const OTHER_NAMES: Record<number, string> = {
  3: 'Q4_1',
  6: 'Q5_0',
  7: 'Q5_1',
  9: 'Q8_1',
  10: 'Q2_K',
  11: 'Q3_K',
  15: 'Q8_K',
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  20: 'IQ4_NL',
  21: 'IQ3_S',
  22: 'IQ2_S',
  23: 'IQ4_XS',
  24: 'I8',
  25: 'I16',
  26: 'I32',
  27: 'I64',
  28: 'F64',
  29: 'IQ1_M',
  34: 'TQ1_0',
  35: 'TQ2_0',
  39: 'MXFP4',
};

const BY_ID = new Map(TYPES.map((t) => [t.id, t]));
const BY_NAME = new Map(TYPES.map((t) => [t.name, t]));

export const GGML_TYPE_NAMES = TYPES.map((t) => t.name);

/** The type with this id, or null when this reader does not support it. */
export function ggmlTypeById(id: number): GgmlType | null {
  return BY_ID.get(id) ?? null;
}

export function ggmlTypeByName(name: string): GgmlType | null {
  return BY_NAME.get(name.toUpperCase()) ?? null;
}

/** "Q3_K (type 11)" for a type this reader does not take. */
export function describeGgmlType(id: number): string {
  const name = BY_ID.get(id)?.name ?? OTHER_NAMES[id];
  return name ? `${name} (type ${id})` : `type ${id}`;
}

/** Bytes of `values` values (a multiple of the block) stored as `type`. */
export function ggmlBytes(type: GgmlType, values: number): number {
  if (values % type.blockValues !== 0)
    throw new Error(`${values} values are not a whole number of ${type.name} blocks of ${type.blockValues}`);
  return (values / type.blockValues) * type.blockBytes;
}
