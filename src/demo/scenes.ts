/**
 * The demo model's world: small synthetic pictures drawn as SVG — coloured shapes, a large word or number, and
 * mini receipts — each a plain data record that says exactly what is in it (the truth the answers come from).
 */
import type { SeededRandom } from '../generate/random.js';
import { textRects } from './bitmap-font.js';

export const SHAPE_KINDS = ['circle', 'square', 'triangle', 'star'] as const;
export type ShapeKind = (typeof SHAPE_KINDS)[number];

export const COLOURS = {
  red: '#e53935',
  green: '#43a047',
  blue: '#1e88e5',
  yellow: '#fdd835',
  purple: '#8e24aa',
  orange: '#fb8c00',
} as const;
export type Colour = keyof typeof COLOURS;
export const COLOUR_NAMES = Object.keys(COLOURS) as Colour[];

export type Side = 'left' | 'right' | 'top' | 'bottom';

export interface Shape {
  kind: ShapeKind;
  colour: Colour;
  /** Centre and radius in pixels. */
  x: number;
  y: number;
  r: number;
}

export interface ShapesScene {
  type: 'shapes';
  width: number;
  height: number;
  background: string;
  shapes: Shape[];
}

export interface TextScene {
  type: 'text';
  width: number;
  height: number;
  background: string;
  ink: string;
  text: string;
  /** Top-left of the first 32-px character cell. */
  x: number;
  y: number;
}

export interface ReceiptLine {
  name: string;
  cents: number;
}

export interface ReceiptScene {
  type: 'receipt';
  width: number;
  height: number;
  background: string;
  ink: string;
  header: string;
  items: ReceiptLine[];
  /** Top-left of the first 16-px character cell. */
  x: number;
  y: number;
}

export type Scene = ShapesScene | TextScene | ReceiptScene;

const PAPERS = ['#ffffff', '#f4f4f4', '#fdf6e3', '#eef4fb'];
const INKS = ['#111111', '#1a237e', '#4a148c', '#1b5e20', '#5d1010'];
export const RECEIPT_ITEMS = [
  'MILK',
  'BREAD',
  'EGGS',
  'APPLE',
  'RICE',
  'TEA',
  'COFFEE',
  'JAM',
  'SOUP',
  'CHEESE',
  'BUTTER',
  'PASTA',
  'JUICE',
  'SUGAR',
  'HONEY',
  'FISH',
] as const;
const RECEIPT_HEADERS = ['RECEIPT', 'MARKET', 'CAFE', 'STORE', 'SHOP'];
export const WORDS = [
  'CAT',
  'DOG',
  'SUN',
  'MOON',
  'STAR',
  'TREE',
  'FISH',
  'BIRD',
  'BOOK',
  'CAKE',
  'HELLO',
  'PIXEL',
  'MODEL',
  'MAP',
  'OPEN',
  'STOP',
  'EXIT',
  'SALE',
  'FREE',
  'HOME',
  'RAIN',
  'SNOW',
  'WIND',
  'FIRE',
  'GOLD',
  'BLUE',
  'RED',
  'KING',
  'SHIP',
  'LAMP',
  'CODE',
  'DATA',
  'TEXT',
  'ROBOT',
  'APPLE',
  'LEMON',
  'PIZZA',
  'MUSIC',
  'HAPPY',
  'PARIS',
];

/** 16-px patches: every image is a whole number of them, so the engine's resize is the identity. */
const CELL = 16;

export function pick<T>(rng: SeededRandom, list: readonly T[]): T {
  return list[Math.floor(rng.next() * list.length)]!;
}

/** Fisher–Yates on a copy. */
export function shuffled<T>(rng: SeededRandom, list: readonly T[]): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function between(rng: SeededRandom, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

/** `count` shapes that do not touch, of random kinds and colours unless given. */
export function randomShapes(
  rng: SeededRandom,
  count: number,
  colours: readonly Colour[] = COLOUR_NAMES,
): ShapesScene {
  for (;;) {
    const width = CELL * between(rng, 7, 10);
    const height = CELL * between(rng, 7, 10);
    const shapes: Shape[] = [];
    for (let tries = 0; shapes.length < count && tries < 200; tries++) {
      const r = between(rng, 9, 15);
      const s: Shape = {
        kind: pick(rng, SHAPE_KINDS),
        colour: pick(rng, colours),
        x: between(rng, r + 2, width - r - 2),
        y: between(rng, r + 2, height - r - 2),
        r,
      };
      if (shapes.every((o) => Math.hypot(o.x - s.x, o.y - s.y) > o.r + s.r + 4)) shapes.push(s);
    }
    if (shapes.length === count)
      return { type: 'shapes', width, height, background: pick(rng, PAPERS), shapes };
  }
}

/**
 * Two shapes of different kinds and colours, one on each side of the picture along one axis. Across that axis
 * they are at most half as far apart as along it, so the picture itself says which axis the pair lies on.
 */
export function randomPair(rng: SeededRandom, axis: 'horizontal' | 'vertical'): ShapesScene {
  const width = CELL * between(rng, 7, 10);
  const height = CELL * between(rng, 7, 10);
  const along = axis === 'horizontal' ? width : height;
  const across = axis === 'horizontal' ? height : width;
  const kinds = shuffled(rng, SHAPE_KINDS).slice(0, 2);
  const colours = shuffled(rng, COLOUR_NAMES).slice(0, 2);
  const radii = [between(rng, 12, 19), between(rng, 12, 19)];
  // First shape in the first half (left/top), second in the other half, with a gap around the middle.
  const a0 = between(rng, radii[0]! + 2, Math.floor(along / 2) - radii[0]! - 4);
  const a1 = between(rng, Math.ceil(along / 2) + radii[1]! + 4, along - radii[1]! - 2);
  const b0 = between(rng, radii[0]! + 2, across - radii[0]! - 2);
  const reach = Math.floor((a1 - a0) / 2);
  const b1 = between(rng, Math.max(radii[1]! + 2, b0 - reach), Math.min(across - radii[1]! - 2, b0 + reach));
  const shapes = [
    [a0, b0],
    [a1, b1],
  ].map(([a, b], i): Shape => ({
    kind: kinds[i]!,
    colour: colours[i]!,
    r: radii[i]!,
    ...(axis === 'horizontal' ? { x: a!, y: b! } : { x: b!, y: a! }),
  }));
  return { type: 'shapes', width, height, background: pick(rng, PAPERS), shapes };
}

/** Where a shape of a two-shape picture is relative to the other: along the axis they are further apart on. */
export function sideOfPair(shape: Shape, other: Shape): Side {
  const dx = shape.x - other.x;
  const dy = shape.y - other.y;
  if (Math.abs(dx) >= Math.abs(dy)) return dx < 0 ? 'left' : 'right';
  return dy < 0 ? 'top' : 'bottom';
}

export function randomText(rng: SeededRandom): TextScene {
  const text = rng.next() < 0.5 ? pick(rng, WORDS) : String(between(rng, 0, rng.next() < 0.5 ? 99 : 9999));
  const left = between(rng, 0, 2);
  const top = between(rng, 0, 2);
  const width = (left + between(rng, 0, 2)) * CELL + text.length * 2 * CELL;
  const height = (top + between(rng, 0, 2)) * CELL + 2 * CELL;
  return {
    type: 'text',
    width: Math.max(width, 4 * CELL),
    height,
    background: pick(rng, PAPERS),
    ink: pick(rng, INKS),
    text,
    x: left * CELL,
    y: top * CELL,
  };
}

/** Receipt columns: the item name from the left, the price right-aligned to the 12th character. */
const RECEIPT_COLUMNS = 12;

export function randomReceipt(rng: SeededRandom): ReceiptScene {
  const n = between(rng, 2, 4);
  const items: ReceiptLine[] = [];
  for (let i = 0; i < n; i++) items.push({ name: pick(rng, RECEIPT_ITEMS), cents: between(rng, 50, 1999) });
  const left = between(rng, 0, 1);
  const top = between(rng, 0, 1);
  const rows = 1 + 1 + n + 1 + 1; // header, gap, items, gap, total
  return {
    type: 'receipt',
    width: (left + RECEIPT_COLUMNS + between(rng, 0, 1)) * CELL,
    height: (top + rows + between(rng, 0, 1)) * CELL,
    background: pick(rng, PAPERS),
    ink: pick(rng, INKS),
    header: pick(rng, RECEIPT_HEADERS),
    items,
    x: left * CELL,
    y: top * CELL,
  };
}

export function receiptTotalCents(scene: ReceiptScene): number {
  return scene.items.reduce((sum, item) => sum + item.cents, 0);
}

export function formatCents(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

function shapeSvg(s: Shape): string {
  const fill = COLOURS[s.colour];
  switch (s.kind) {
    case 'circle':
      return `<circle cx="${s.x}" cy="${s.y}" r="${s.r}" fill="${fill}"/>`;
    case 'square': {
      const h = Math.round(s.r * 0.85);
      return `<rect x="${s.x - h}" y="${s.y - h}" width="${2 * h}" height="${2 * h}" fill="${fill}"/>`;
    }
    case 'triangle':
      return polygon(
        [-90, 30, 150].map((deg) => angle(s, deg, s.r)),
        fill,
      );
    case 'star':
      return polygon(
        Array.from({ length: 10 }, (_, i) => angle(s, -90 + i * 36, i % 2 === 0 ? s.r : s.r * 0.45)),
        fill,
      );
  }
}

function angle(s: Shape, deg: number, radius: number): [number, number] {
  const rad = (deg * Math.PI) / 180;
  return [s.x + radius * Math.cos(rad), s.y + radius * Math.sin(rad)];
}

function polygon(points: [number, number][], fill: string): string {
  return `<polygon points="${points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}" fill="${fill}"/>`;
}

/** One line of receipt text: the name at the left, the amount right-aligned. */
function receiptLine(name: string, amount: string): string {
  return name + ' '.repeat(Math.max(1, RECEIPT_COLUMNS - name.length - amount.length)) + amount;
}

/** The receipt's text, one string per 16-px row: header, gap, items, gap, total. */
export function receiptLines(scene: ReceiptScene): string[] {
  return [
    scene.header,
    '',
    ...scene.items.map((item) => receiptLine(item.name, formatCents(item.cents))),
    '',
    receiptLine('TOTAL', formatCents(receiptTotalCents(scene))),
  ];
}

export function sceneSvg(scene: Scene): string {
  const body = (() => {
    switch (scene.type) {
      case 'shapes':
        return scene.shapes.map(shapeSvg).join('');
      case 'text':
        // 32-px cells: 4-px font dots, the 20×28 glyph centred in its cell.
        return textRects(scene.text, scene.x + 6, scene.y + 2, 4, 2 * CELL, scene.ink);
      case 'receipt': {
        // 16-px cells: 2-px font dots, the 10×14 glyph centred in its cell.
        return receiptLines(scene)
          .map((line, row) => textRects(line, scene.x + 3, scene.y + row * CELL + 1, 2, CELL, scene.ink))
          .join('');
      }
    }
  })();
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}">` +
    `<rect width="100%" height="100%" fill="${scene.background}"/>${body}</svg>`
  );
}
