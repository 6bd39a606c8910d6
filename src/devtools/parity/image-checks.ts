/** Image goldens: patch grid, token count and the normalised pixel tensor of each test image. */
import { imageTokenCount } from '../../chat/image-tokens.js';
import { preprocessImage } from '../../image/index.js';
import type { FixtureSet } from './fixture-set.js';
import { compareFloats, type ParityReport } from './report.js';

/** The fixture README's bound for pixels (OpenCV computes in float32; an exact float64 lands within ~1e-4). */
export const PIXEL_TOLERANCE = 5e-4;

interface ImageGolden {
  image: string;
  rows: number;
  cols: number;
  tokens: number;
  pixels: { file: string; shape: number[] };
}

export async function checkImages(
  set: FixtureSet,
  report: ParityReport,
  image: { patchSize: number; maxImageSize: number },
): Promise<void> {
  for (const g of set.goldens.images as ImageGolden[]) {
    await report.checkAsync(`image/${g.image}`, async () => {
      const out = await preprocessImage(set.bytes(g.image), image);
      if (out.rows !== g.rows || out.cols !== g.cols)
        throw new Error(`patch grid ${out.cols}×${out.rows} (cols×rows), expected ${g.cols}×${g.rows}`);
      const tokens = imageTokenCount(out);
      if (tokens !== g.tokens) throw new Error(`${tokens} image tokens, expected ${g.tokens}`);
      const result = compareFloats(out.pixels, set.f32(g.pixels.file), PIXEL_TOLERANCE);
      return { ...result, detail: `grid ${g.cols}×${g.rows}, ${result.detail}` };
    });
  }
}
