/** The patch grid mistral-common resizes an image to (spec §3.2): no upscaling, round-half-even, ceil to patches. */
export interface PatchGrid {
  readonly rows: number;
  readonly cols: number;
}

/** Python's round(): ties go to the even integer. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

export function targetPatchGrid(
  width: number,
  height: number,
  maxImageSize = 1024,
  patchSize = 16,
): PatchGrid {
  const ratio = Math.max(width / maxImageSize, height / maxImageSize);
  let w = width;
  let h = height;
  if (ratio > 1) {
    w = roundHalfEven(width / ratio);
    h = roundHalfEven(height / ratio);
  }
  const limit = maxImageSize / patchSize;
  const cols = Math.min(limit, Math.max(1, Math.floor((w - 1) / patchSize) + 1));
  const rows = Math.min(limit, Math.max(1, Math.floor((h - 1) / patchSize) + 1));
  return { rows, cols };
}
