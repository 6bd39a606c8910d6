/**
 * What each 16-px patch of a demo picture shows, as a class id: nothing, a shape (its colour and kind — the patch
 * holding the shape's centre), or a character of text (every patch a glyph covers). The trainer uses them for an
 * auxiliary per-patch loss on the vision encoder (a throwaway head, not part of the checkpoint), so the encoder
 * learns to see from the first steps instead of the decoder learning to ignore the picture.
 */
import { COLOUR_NAMES, receiptLines, SHAPE_KINDS, type Scene } from './scenes.js';

const CHARACTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:-%$';
const SHAPE_CLASSES = COLOUR_NAMES.length * SHAPE_KINDS.length;
/** 0 = nothing, then every (colour, kind), then every character. */
export const PATCH_CLASSES = 1 + SHAPE_CLASSES + CHARACTERS.length;
const PATCH = 16;

function characterClass(ch: string): number {
  const i = CHARACTERS.indexOf(ch.toUpperCase());
  return i < 0 ? 0 : 1 + SHAPE_CLASSES + i;
}

/** One class id per patch, row-major over the scene's patch grid. */
export function patchLabels(scene: Scene): Uint8Array {
  const cols = scene.width / PATCH;
  const rows = scene.height / PATCH;
  const labels = new Uint8Array(rows * cols);
  const set = (r: number, c: number, label: number) => {
    if (label > 0 && r >= 0 && r < rows && c >= 0 && c < cols) labels[r * cols + c] = label;
  };
  switch (scene.type) {
    case 'shapes':
      for (const s of scene.shapes)
        set(
          Math.floor(s.y / PATCH),
          Math.floor(s.x / PATCH),
          1 + COLOUR_NAMES.indexOf(s.colour) * SHAPE_KINDS.length + SHAPE_KINDS.indexOf(s.kind),
        );
      break;
    case 'text': // 32-px character cells: each glyph covers a 2×2 block of patches
      [...scene.text].forEach((ch, i) => {
        for (const [dr, dc] of [
          [0, 0],
          [0, 1],
          [1, 0],
          [1, 1],
        ] as const)
          set(scene.y / PATCH + dr, scene.x / PATCH + 2 * i + dc, characterClass(ch));
      });
      break;
    case 'receipt': // 16-px character cells: one glyph per patch
      receiptLines(scene).forEach((line, row) =>
        [...line].forEach((ch, i) => set(scene.y / PATCH + row, scene.x / PATCH + i, characterClass(ch))),
      );
      break;
  }
  return labels;
}
