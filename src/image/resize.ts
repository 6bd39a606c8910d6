/**
 * OpenCV INTER_CUBIC resize of a float HWC image (spec §3.3): source coordinate (d + 0.5)·scale − 0.5, Keys
 * kernel with A = −0.75, replicated borders, no antialiasing, float output neither clamped nor rounded.
 * Separable: rows first into a float64 buffer, then columns.
 */
const A = -0.75;

interface Taps {
  readonly index: Int32Array; // 4 source indices per destination index
  readonly weight: Float64Array; // 4 weights per destination index
}

function cubicTaps(src: number, dst: number): Taps {
  const index = new Int32Array(dst * 4);
  const weight = new Float64Array(dst * 4);
  const scale = src / dst;
  for (let d = 0; d < dst; d++) {
    const s = (d + 0.5) * scale - 0.5;
    const i0 = Math.floor(s);
    // OpenCV computes the fractional part and the kernel in float32.
    const t = Math.fround(s - i0);
    const w0 = Math.fround(((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A);
    const w1 = Math.fround(((A + 2) * t - (A + 3)) * t * t + 1);
    const w2 = Math.fround(((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1);
    const w3 = Math.fround(1 - w0 - w1 - w2);
    const ws = [w0, w1, w2, w3];
    for (let k = 0; k < 4; k++) {
      index[d * 4 + k] = Math.min(src - 1, Math.max(0, i0 - 1 + k));
      weight[d * 4 + k] = ws[k]!;
    }
  }
  return { index, weight };
}

/** Resizes `pixels` (H×W×channels, float) to dstH×dstW. Equal sizes are copied unchanged. */
export function resizeBicubic(
  pixels: Float32Array,
  srcW: number,
  srcH: number,
  dstW: number,
  dstH: number,
  channels = 3,
): Float32Array {
  if (srcW === dstW && srcH === dstH) return pixels.slice();
  const xt = cubicTaps(srcW, dstW);
  const yt = cubicTaps(srcH, dstH);
  // Horizontal pass: every source row → dstW columns.
  const horizontal = new Float32Array(srcH * dstW * channels);
  for (let y = 0; y < srcH; y++) {
    const rowIn = y * srcW * channels;
    const rowOut = y * dstW * channels;
    for (let x = 0; x < dstW; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < 4; k++)
          sum += xt.weight[x * 4 + k]! * pixels[rowIn + xt.index[x * 4 + k]! * channels + c]!;
        horizontal[rowOut + x * channels + c] = sum;
      }
    }
  }
  // Vertical pass.
  const out = new Float32Array(dstH * dstW * channels);
  const rowLen = dstW * channels;
  for (let y = 0; y < dstH; y++) {
    const o = y * rowLen;
    for (let k = 0; k < 4; k++) {
      const w = yt.weight[y * 4 + k]!;
      const src = yt.index[y * 4 + k]! * rowLen;
      for (let i = 0; i < rowLen; i++) out[o + i] = out[o + i]! + w * horizontal[src + i]!;
    }
  }
  return out;
}
