/** Storage dtypes of weight tensors and their conversion to float32 (spec §7.6). */
/** U8 holds the blocks of quantized weights (see quantized.ts); the others are float formats. */
export type DType = 'BF16' | 'F16' | 'F32' | 'U8';

export const DTYPE_BYTES: Readonly<Record<DType, number>> = { BF16: 2, F16: 2, F32: 4, U8: 1 };

export function isDType(value: unknown): value is DType {
  return value === 'BF16' || value === 'F16' || value === 'F32' || value === 'U8';
}

/** Upcasts raw little-endian tensor bytes to float32. bf16 → f32 is exact (the bits become the high half). */
export function toFloat32(bytes: Uint8Array, dtype: DType): Float32Array {
  if (dtype === 'U8') throw new Error('quantized (U8) tensor bytes are not float values');
  const count = bytes.byteLength / DTYPE_BYTES[dtype];
  const out = new Float32Array(count);
  if (dtype === 'F32') {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const halves = new Uint16Array(count);
  new Uint8Array(halves.buffer).set(bytes);
  if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = halves[i]! << 16;
  } else {
    for (let i = 0; i < count; i++) out[i] = f16ToF32(halves[i]!);
  }
  return out;
}

/** One IEEE half (as its 16 bits) to a number. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bf16 bits with round-to-nearest-even; NaN stays NaN. */
export function f32ToBf16Bits(value: number): number {
  f32[0] = value;
  const bits = u32[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}
