/** Image bytes → the model's input (spec §3): RGB on white → bicubic resize to whole patches → CLIP CHW. */
import { decodeImage, DEFAULT_MAX_PIXELS } from './decode.js';
import { normalizeToChw } from './normalize.js';
import { resizeBicubic } from './resize.js';
import { targetPatchGrid } from './target-size.js';

export interface PreprocessedImage {
  /** Normalised float32 [3, height, width]. */
  readonly pixels: Float32Array;
  readonly height: number;
  readonly width: number;
  readonly rows: number;
  readonly cols: number;
}

export interface PreprocessOptions {
  readonly maxImageSize?: number;
  readonly patchSize?: number;
  readonly maxPixels?: number;
}

export async function preprocessImage(
  bytes: Uint8Array,
  options: PreprocessOptions = {},
): Promise<PreprocessedImage> {
  const patch = options.patchSize ?? 16;
  const image = await decodeImage(bytes, options.maxPixels ?? DEFAULT_MAX_PIXELS);
  const { rows, cols } = targetPatchGrid(image.width, image.height, options.maxImageSize ?? 1024, patch);
  const width = cols * patch;
  const height = rows * patch;
  const resized = resizeBicubic(Float32Array.from(image.rgb), image.width, image.height, width, height);
  return { pixels: normalizeToChw(resized, width, height), height, width, rows, cols };
}
