/**
 * Storage formats of the KV cache: float32 (exact), f16 (half the bytes), and q8 (int8 with one float scale
 * per position and kv head: a quarter of the bytes, so 131072 tokens of Pixtral-12B fit next to 4-bit weights).
 * Attention reads the stored form directly; `kvToFloat32` is the plain conversion the reference backend uses.
 */
import { f16ToF32 } from '../checkpoint/dtype.js';
import type { Tensor } from './types.js';

export type KvFormat = 'f32' | 'f16' | 'q8';

export const KV_FORMATS: readonly KvFormat[] = ['f32', 'f16', 'q8'];

/** One page of stored keys or values: `pagePositions` rows of kvHeads·headDim values. */
export type KvPageData = Float32Array | Uint16Array | Int8Array;

/**
 * Keys or values [positions, kvHeads·headDim] held in fixed-size pages (the KV cache's layout): position p is
 * row p mod pagePositions of page ⌊p / pagePositions⌋. Pages are never copied to grow a sequence, and a later
 * prefix cache can share them between sequences.
 */
export interface PagedKv {
  readonly shape: readonly number[];
  readonly format: KvFormat;
  readonly pages: readonly KvPageData[];
  /** q8: one scale per (position, kv head), per page. */
  readonly pageScales: readonly Float32Array[];
  readonly pagePositions: number;
  readonly headDim: number;
}

/** Keys or values [positions, kvHeads·headDim] as a KV cache stores them. */
export type KvTensor =
  | PagedKv
  | Tensor
  | { readonly shape: readonly number[]; readonly format: 'f16'; readonly data: Uint16Array }
  | {
      readonly shape: readonly number[];
      readonly format: 'q8';
      readonly data: Int8Array;
      /** One scale per (position, kv head). */
      readonly scales: Float32Array;
      readonly headDim: number;
    };

/** Bytes one stored value takes (q8: plus its share of the per-head scale). */
export function kvBytesPerValue(format: KvFormat, headDim: number): number {
  return format === 'f32' ? 4 : format === 'f16' ? 2 : 1 + 4 / headDim;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Stores float32 values as IEEE halves at dst[at…] (a backend may do it natively: `Backend.toHalf`). */
export type HalfEncoder = (src: Float32Array, dst: Uint16Array, at: number) => void;

export const encodeHalves: HalfEncoder = (src, dst, at) => {
  for (let i = 0; i < src.length; i++) dst[at + i] = floatToHalf(src[i]!);
};

/** What a KV cache borrows from the backend: its f16 store, and the memory its pages live in. */
export interface KvStorage {
  readonly halves: HalfEncoder;
  /**
   * `bytes` bytes of zeroed memory, starting on a 4-byte boundary, for pages: every layer's keys and values of one
   * page index at once, or one copied page.
   */
  readonly pageMemory: (bytes: number) => Uint8Array;
}

/** The JavaScript store and ordinary typed-array memory. */
export const PLAIN_KV_STORAGE: KvStorage = {
  halves: encodeHalves,
  pageMemory: (bytes) => new Uint8Array(bytes),
};

/** float32 → IEEE half, round to nearest even. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - exp;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return half;
}

/** Quantizes one head's values to int8 with a scale of max|x|/127; returns the scale. */
export function quantizeHead(
  src: Float32Array,
  from: number,
  headDim: number,
  out: Int8Array,
  at: number,
): number {
  let max = 0;
  for (let d = 0; d < headDim; d++) max = Math.max(max, Math.abs(src[from + d]!));
  const scale = max / 127;
  const inv = scale > 0 ? 1 / scale : 0;
  for (let d = 0; d < headDim; d++) out[at + d] = Math.round(src[from + d]! * inv);
  return Math.fround(scale);
}

export function kvToFloat32(t: KvTensor): Float32Array {
  if ('pages' in t) return pagedToFloat32(t);
  if (!('format' in t)) return t.data;
  const out = new Float32Array(t.data.length);
  if (t.format === 'f16') for (let i = 0; i < out.length; i++) out[i] = f16ToF32(t.data[i]!);
  else for (let i = 0; i < out.length; i++) out[i] = t.data[i]! * t.scales[Math.floor(i / t.headDim)]!;
  return out;
}

function pagedToFloat32(t: PagedKv): Float32Array {
  const [positions, width] = t.shape as [number, number];
  const out = new Float32Array(positions * width);
  for (let page = 0; page * t.pagePositions < positions; page++) {
    const rows = Math.min(t.pagePositions, positions - page * t.pagePositions);
    const data = t.pages[page]!.subarray(0, rows * width);
    const shape = [rows, width];
    const plain: KvTensor =
      t.format === 'f32'
        ? { shape, data: data as Float32Array }
        : t.format === 'f16'
          ? { shape, format: 'f16', data: data as Uint16Array }
          : { shape, format: 'q8', data: data as Int8Array, scales: t.pageScales[page]!, headDim: t.headDim };
    out.set(kvToFloat32(plain), page * t.pagePositions * width);
  }
  return out;
}
