/**
 * Image token layout (spec §4). Kept here so the chat renderer does not depend on the image module (which
 * decodes pixels), and pure: the web playground bundles it to price an image before sending it.
 */
import { targetPatchGrid } from '../image/target-size.js';
import { SpecialId } from '../tokenizer/special-tokens.js';

/** The patch grid of one preprocessed image (`rows` × `cols` patches of 16×16 pixels). */
export interface ImageGrid {
  rows: number;
  cols: number;
}

/**
 * `[IMG]` × cols per row, `[IMG_BREAK]` after every row except the last, whose break is replaced by
 * `[IMG_END]`: rows·(cols+1) ids. The k-th `[IMG]` receives patch k in row-major order.
 */
export function imageTokenLayout(rows: number, cols: number): number[] {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new RangeError(`invalid image patch grid ${rows}×${cols}`);
  }
  const ids: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) ids.push(SpecialId.IMG);
    ids.push(r < rows - 1 ? SpecialId.IMG_BREAK : SpecialId.IMG_END);
  }
  return ids;
}

/** How many prompt tokens an image of this patch grid takes: its rows·(cols+1) layout ids. */
export function imageTokenCount(grid: ImageGrid): number {
  return grid.rows * (grid.cols + 1);
}

/** Prompt tokens an image of width×height takes once the model resizes it to patches: what a request is billed. */
export function imageTokensForSize(
  width: number,
  height: number,
  sizing: { readonly patchSize: number; readonly maxImageSize: number },
): number {
  return imageTokenCount(targetPatchGrid(width, height, sizing.maxImageSize, sizing.patchSize));
}
