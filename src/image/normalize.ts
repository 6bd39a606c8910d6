/** CLIP normalisation (spec §3.4): HWC 0..255 floats → CHW (x/255 − mean)/std. */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export function normalizeToChw(hwc: Float32Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = CLIP_MEAN[c];
    const std = CLIP_STD[c];
    for (let i = 0; i < plane; i++) out[c * plane + i] = (hwc[i * 3 + c]! / 255 - mean) / std;
  }
  return out;
}
