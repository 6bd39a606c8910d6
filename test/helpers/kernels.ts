/** Random inputs and float64 emulations of the native matmul kernels' arithmetic, shared by the kernel tests. */
import { f16ToF32, f32ToBf16Bits } from '../../src/checkpoint/dtype.js';
import { NativeFormat } from '../../src/backend/native/addon.js';
import { SeededRandom } from '../../src/generate/random.js';

const random = new SeededRandom(1234);
const gaussian = () => (random.next() + random.next() + random.next() - 1.5) * 2;

export function randomMatrix(rows: number, cols: number, scale = 1): Float32Array {
  return Float32Array.from({ length: rows * cols }, () => gaussian() * scale);
}

export function bf16(values: Float32Array): Uint16Array {
  return Uint16Array.from(values, (v) => f32ToBf16Bits(v));
}

/** Nearest, ties to even — C's lrintf in the default rounding mode. */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Bytes of one quantized row: values (int8, or two 4-bit values per byte) then one f16 scale per block. */
export const rowBytes = (format: NativeFormat, k: number) =>
  (format === NativeFormat.Q8 || format === NativeFormat.Q8P ? k : k / 2) + (k / 32) * 2;

/** The q8/q4 weight values and per-block scales read back from the native row bytes. */
export function dequantize(format: NativeFormat, bytes: Uint8Array, rows: number, k: number) {
  const values = new Int8Array(rows * k);
  const scales = new Float64Array((rows * k) / 32);
  const stride = rowBytes(format, k);
  for (let r = 0; r < rows; r++) {
    const row = bytes.subarray(r * stride, (r + 1) * stride);
    const scaleAt = format === NativeFormat.Q8 ? k : k / 2;
    for (let b = 0; b < k / 32; b++) {
      scales[r * (k / 32) + b] = f16ToF32(row[scaleAt + 2 * b]! | (row[scaleAt + 2 * b + 1]! << 8));
      for (let j = 0; j < 32; j++) {
        const at = r * k + b * 32 + j;
        if (format === NativeFormat.Q8) values[at] = (row[b * 32 + j]! << 24) >> 24;
        else {
          const byte = row[b * 16 + (j % 16)]!;
          values[at] = (j < 16 ? byte & 0x0f : byte >> 4) - 8;
        }
      }
    }
  }
  return { values, scales };
}

/** The kernels' exact arithmetic in float64: per-block int8 activations, integer dots, scaled sums. */
export function emulateQuantizedMatmul(
  x: Float32Array,
  tokens: number,
  k: number,
  w: ReturnType<typeof dequantize>,
  n: number,
) {
  const y = new Float64Array(tokens * n);
  for (let t = 0; t < tokens; t++) {
    const xq = new Int8Array(k);
    const xs = new Float64Array(k / 32);
    for (let b = 0; b < k / 32; b++) {
      let max = 0;
      for (let j = 0; j < 32; j++) max = Math.max(max, Math.abs(x[t * k + b * 32 + j]!));
      const scale = Math.fround(max / 127);
      const inv = scale > 0 ? Math.fround(1 / scale) : 0;
      xs[b] = scale;
      for (let j = 0; j < 32; j++) xq[b * 32 + j] = roundEven(Math.fround(x[t * k + b * 32 + j]! * inv));
    }
    for (let o = 0; o < n; o++) {
      let sum = 0;
      for (let b = 0; b < k / 32; b++) {
        let dot = 0;
        for (let j = 0; j < 32; j++) dot += xq[b * 32 + j]! * w.values[o * k + b * 32 + j]!;
        sum += dot * Math.fround(xs[b]! * w.scales[o * (k / 32) + b]!);
      }
      y[t * n + o] = sum;
    }
  }
  return y;
}

export function maxRelativeError(actual: Float32Array, expected: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst / (scale || 1);
}
