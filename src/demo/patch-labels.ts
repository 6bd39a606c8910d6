/**
 * What each 16-px patch of a demo picture shows, as a class id: nothing, part of a shape (its colour, kind and
 * side — every patch it covers), or a character of text (every patch a glyph covers). The trainer uses them for an
 * auxiliary per-patch loss on the vision encoder (a throwaway head, not part of the checkpoint), so the encoder
 * learns to see from the first steps instead of the decoder learning to ignore the picture.
 */
import { COLOUR_NAMES, receiptLines, SHAPE_KINDS, sideOfPair, type Scene, type Side } from './scenes.js';

const CHARACTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:-%$';
/** A shape's side relative to the other one in two-shape pictures, none otherwise. */
const SIDES: (Side | 'none')[] = ['none', 'left', 'right', 'top', 'bottom'];
const SHAPE_CLASSES = COLOUR_NAMES.length * SHAPE_KINDS.length * SIDES.length;
/** 0 = nothing, then every (colour, kind, side), then every character. */
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
    case 'shapes': {
      // Every patch a shape covers says which shape it is part of — colour, kind, and in a two-shape picture its
      // side relative to the other: the decoder finds a shape by colour among all its patches, so each of them
      // must carry the rest (the side is what 2-D RoPE alone does not hand the decoder).
      const pair = scene.shapes.length === 2;
      const coverage = new Float32Array(rows * cols);
      scene.shapes.forEach((s, i) => {
        const side = pair ? sideOfPair(s, scene.shapes[1 - i]!) : 'none';
        const shapeClass =
          (COLOUR_NAMES.indexOf(s.colour) * SHAPE_KINDS.length + SHAPE_KINDS.indexOf(s.kind)) * SIDES.length +
          SIDES.indexOf(side);
        const centre = [Math.floor(s.y / PATCH), Math.floor(s.x / PATCH)] as const;
        for (let r = Math.floor((s.y - s.r) / PATCH); r <= Math.floor((s.y + s.r) / PATCH); r++)
          for (let c = Math.floor((s.x - s.r) / PATCH); c <= Math.floor((s.x + s.r) / PATCH); c++) {
            if (r < 0 || r >= rows || c < 0 || c >= cols) continue;
            const covered = r === centre[0] && c === centre[1] ? 1 : circleCoverage(s.x, s.y, s.r, r, c);
            if (covered >= 0.25 && covered > coverage[r * cols + c]!) {
              coverage[r * cols + c] = covered;
              set(r, c, 1 + shapeClass);
            }
          }
      });
      break;
    }
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

/**
 * Where the shapes are, one mark each: the patch holding a shape's centre is 1, every other patch 0. For a second
 * auxiliary loss: the class labels mark every patch a shape covers, so a shape spanning 2–3 patches each way is
 * many patches of one class and counting them is the decoder's guess; one mark per shape is what counting needs.
 */
export function shapeCentres(scene: Scene): Uint8Array {
  const cols = scene.width / PATCH;
  const centres = new Uint8Array((scene.height / PATCH) * cols);
  if (scene.type === 'shapes')
    for (const s of scene.shapes) centres[Math.floor(s.y / PATCH) * cols + Math.floor(s.x / PATCH)] = 1;
  return centres;
}

/** The share of patch (row, col) inside the circle (cx, cy, radius), sampled on a 4×4 grid. */
function circleCoverage(cx: number, cy: number, radius: number, row: number, col: number): number {
  let inside = 0;
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) {
      const x = col * PATCH + (j + 0.5) * (PATCH / 4);
      const y = row * PATCH + (i + 0.5) * (PATCH / 4);
      if (Math.hypot(x - cx, y - cy) <= radius) inside++;
    }
  return inside / 16;
}
