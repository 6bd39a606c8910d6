/**
 * ggml's block formats in plain TypeScript: every supported type to float32 (the definitions of ggml-quants.c:
 * one scale per 32 values for Q8_0/Q4_0; 256-value super-blocks of 6-bit scales and mins for Q4_K/Q5_K and 8-bit
 * scales for Q6_K), and float32 to the types an export writes (F32, F16, BF16, Q8_0, Q4_0, rounding as ggml's
 * reference quantizers do). Each step rounds to float32 as ggml's C does (`Math.fround`), so the values are
 * ggml's to the bit. The reference for tests and for loading; the native kernels compute on the blocks.
 */
import { f16ToF32, f32ToBf16Bits, toFloat32 } from '../dtype.js';
import { floatToHalf } from '../../backend/kv-format.js';
import { type GgmlType, ggmlBytes } from './ggml-types.js';

const f = Math.fround;

/** `count` values of `type` from `bytes` (a whole number of blocks) as float32. */
export function dequantize(type: GgmlType, bytes: Uint8Array, count: number): Float32Array {
  const need = ggmlBytes(type, count);
  if (bytes.length < need)
    throw new Error(`${type.name}: ${bytes.length} bytes for ${count} values (need ${need})`);
  const data = bytes.subarray(0, need);
  switch (type.name) {
    case 'F32':
      return toFloat32(data, 'F32');
    case 'F16':
      return toFloat32(data, 'F16');
    case 'BF16':
      return toFloat32(data, 'BF16');
    case 'Q8_0':
      return blocks(data, count, type, (view, at, out, o) => {
        const d = f16ToF32(view.getUint16(at, true));
        for (let j = 0; j < 32; j++) out[o + j] = d * view.getInt8(at + 2 + j);
      });
    case 'Q4_0':
      return blocks(data, count, type, (view, at, out, o) => {
        const d = f16ToF32(view.getUint16(at, true));
        for (let j = 0; j < 16; j++) {
          const byte = view.getUint8(at + 2 + j);
          out[o + j] = d * ((byte & 0xf) - 8);
          out[o + j + 16] = d * ((byte >> 4) - 8);
        }
      });
    case 'Q4_K':
    case 'Q5_K':
      return blocks(data, count, type, (view, at, out, o) =>
        kQuant45(view, at, out, o, type.name === 'Q5_K'),
      );
    case 'Q6_K':
      return blocks(data, count, type, q6K);
    default:
      throw new Error(`no dequantization for ${type.name}`);
  }
}

type BlockDecoder = (view: DataView, at: number, out: Float32Array, o: number) => void;

function blocks(data: Uint8Array, count: number, type: GgmlType, decode: BlockDecoder): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let b = 0; b < count / type.blockValues; b++)
    decode(view, b * type.blockBytes, out, b * type.blockValues);
  return out;
}

/** Sub-block j's 6-bit scale and min from the 12 packed bytes at `at` (ggml's get_scale_min_k4). */
function scaleMin(view: DataView, at: number, j: number): [number, number] {
  const q = (i: number) => view.getUint8(at + i);
  if (j < 4) return [q(j) & 63, q(j + 4) & 63];
  return [(q(j + 4) & 0xf) | ((q(j - 4) >> 6) << 4), (q(j + 4) >> 4) | ((q(j) >> 6) << 4)];
}

/**
 * Q4_K / Q5_K: d, dmin (f16), 12 bytes of scales and mins, [Q5_K: 32 bytes of fifth bits], 128 bytes of low
 * nibbles. Each 64 values: the low nibbles of 32 bytes (sub-block 2i), then their high nibbles (2i + 1); value =
 * d·scale·q − dmin·min.
 */
function kQuant45(view: DataView, at: number, out: Float32Array, o: number, fifthBit: boolean): void {
  const d = f16ToF32(view.getUint16(at, true));
  const dmin = f16ToF32(view.getUint16(at + 2, true));
  const scales = at + 4;
  const high = at + 16; // Q5_K's qh[32]
  const low = fifthBit ? at + 48 : at + 16;
  for (let chunk = 0; chunk < 4; chunk++) {
    const [scale1, min1] = scaleMin(view, scales, 2 * chunk);
    const [scale2, min2] = scaleMin(view, scales, 2 * chunk + 1);
    const [d1, m1, d2, m2] = [f(d * scale1), f(dmin * min1), f(d * scale2), f(dmin * min2)];
    for (let l = 0; l < 32; l++) {
      const byte = view.getUint8(low + 32 * chunk + l);
      const h = fifthBit ? view.getUint8(high + l) : 0;
      const q1 = (byte & 0xf) + ((h >> (2 * chunk)) & 1 ? 16 : 0);
      const q2 = (byte >> 4) + ((h >> (2 * chunk + 1)) & 1 ? 16 : 0);
      out[o + 64 * chunk + l] = f(d1 * q1) - m1;
      out[o + 64 * chunk + 32 + l] = f(d2 * q2) - m2;
    }
  }
}

/**
 * Q6_K: ql[128] low nibbles, qh[64] high bit pairs, 16 int8 scales, d (f16). Each half of 128 values takes 64
 * bytes of ql and 32 of qh; value = d·scale·(q − 32), a scale per 16 values.
 */
const q6K: BlockDecoder = (view, at, out, o) => {
  const d = f16ToF32(view.getUint16(at + 208, true));
  for (let half = 0; half < 2; half++) {
    const ql = at + 64 * half;
    const qh = at + 128 + 32 * half;
    const sc = at + 192 + 8 * half;
    const base = o + 128 * half;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const h = view.getUint8(qh + l);
      const a = view.getUint8(ql + l);
      const b = view.getUint8(ql + l + 32);
      const q1 = ((a & 0xf) | ((h & 3) << 4)) - 32;
      const q2 = ((b & 0xf) | (((h >> 2) & 3) << 4)) - 32;
      const q3 = ((a >> 4) | (((h >> 4) & 3) << 4)) - 32;
      const q4 = ((b >> 4) | (((h >> 6) & 3) << 4)) - 32;
      out[base + l] = f(d * view.getInt8(sc + is)) * q1;
      out[base + l + 32] = f(d * view.getInt8(sc + is + 2)) * q2;
      out[base + l + 64] = f(d * view.getInt8(sc + is + 4)) * q3;
      out[base + l + 96] = f(d * view.getInt8(sc + is + 6)) * q4;
    }
  }
};

/** float32 values as `type` (F32, F16, BF16, Q8_0 or Q4_0), as ggml's reference quantizers round them. */
export function quantize(type: GgmlType, values: Float32Array): Uint8Array {
  const out = new Uint8Array(ggmlBytes(type, values.length));
  const view = new DataView(out.buffer);
  switch (type.name) {
    case 'F32':
      out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      return out;
    case 'F16':
      values.forEach((x, i) => view.setUint16(2 * i, floatToHalf(x), true));
      return out;
    case 'BF16':
      values.forEach((x, i) => view.setUint16(2 * i, f32ToBf16Bits(x), true));
      return out;
    case 'Q8_0':
      for (let b = 0; b < values.length / 32; b++) {
        const x = values.subarray(32 * b, 32 * b + 32);
        const amax = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const d = f(amax / 127);
        const id = d ? f(1 / d) : 0;
        view.setUint16(34 * b, floatToHalf(d), true);
        // C's roundf: halves away from zero.
        for (let j = 0; j < 32; j++) {
          const v = f(x[j]! * id);
          view.setInt8(34 * b + 2 + j, Math.sign(v) * Math.round(Math.abs(v)));
        }
      }
      return out;
    case 'Q4_0':
      for (let b = 0; b < values.length / 32; b++) {
        const x = values.subarray(32 * b, 32 * b + 32);
        // The value of largest magnitude maps to −8: d = max / −8.
        let max = 0;
        for (const v of x) if (Math.abs(v) > Math.abs(max)) max = v;
        const d = Math.fround(max / -8);
        const id = d ? Math.fround(1 / d) : 0;
        view.setUint16(18 * b, floatToHalf(d), true);
        const nibble = (v: number) => Math.min(15, Math.trunc(Math.fround(Math.fround(v * id) + 8.5)));
        for (let j = 0; j < 16; j++) view.setUint8(18 * b + 2 + j, nibble(x[j]!) | (nibble(x[j + 16]!) << 4));
      }
      return out;
    default:
      throw new Error(`export as ${type.name} is not supported (F32, F16, BF16, Q8_0, Q4_0 are)`);
  }
}
