/**
 * The Unicode 16.0 general categories that tiktoken's regex crate reads (unicode16-categories.ts, generated
 * from its tables), decoded, and the stand-ins that let a split pattern use them in small classes.
 *
 * Why stand-ins: as explicit classes, the categories of the Tekken pattern make a RegExp source of about
 * 26,000 characters, and V8 does not optimise a RegExp whose source is longer than 20 KiB: it splits 3–4 times
 * slower. But such a pattern asks of a character only whether it is ASCII or white space (both of which it may
 * name literally) and which of these categories it is in. So every other character is one of nine kinds (Lu,
 * Ll, Lt, Lm, Lo, M, Nd, other N, none of these), and the pattern splits a text exactly as it splits the same
 * text with each such character replaced by a stand-in of its kind: the private use character U+E000 + kind in
 * the BMP, U+F0000 + kind beyond it (so every UTF-16 offset stays where it was). In the pattern, a category is
 * then its ASCII members and the stand-ins of its kinds.
 */
import { ALPHABET, CATEGORIES } from './unicode16-categories.js';

export type Ranges = readonly (readonly [number, number])[];
export type Category = keyof typeof CATEGORIES;

/** Unicode White_Space, Rust's `\s`. */
export const WHITE_SPACE: Ranges = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0x85, 0x85],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
];

/** ALPHABET's character codes → digit values (0–31: a number's last digit; 32–63: a digit before it). */
const DIGIT_VALUES = new Uint8Array(128);
for (let i = 0; i < ALPHABET.length; i++) DIGIT_VALUES[ALPHABET.charCodeAt(i)] = i;

/** The code point ranges of a general category in Unicode 16.0, as tiktoken's regex crate has them. */
export function categoryRanges(category: Category): [number, number][] {
  const text = CATEGORIES[category];
  let i = 0;
  const number = () => {
    let n = 0;
    let digit: number;
    do {
      digit = DIGIT_VALUES[text.charCodeAt(i++)]!;
      n = n * 32 + (digit & 31);
    } while (digit >= 32);
    return n;
  };
  const out: [number, number][] = [];
  let next = 0;
  while (i < text.length) {
    const lo = next + number();
    const hi = lo + number();
    out.push([lo, hi]);
    next = hi + 1;
  }
  return out;
}

/** The kinds of non-ASCII, non-white-space characters: which categories they are in. */
const KIND = { Lu: 0, Ll: 1, Lt: 2, Lm: 3, Lo: 4, M: 5, Nd: 6, otherNumber: 7, none: 8 } as const;
const KINDS_OF: Readonly<Record<Category, readonly number[]>> = {
  L: [KIND.Lu, KIND.Ll, KIND.Lt, KIND.Lm, KIND.Lo],
  Lu: [KIND.Lu],
  Ll: [KIND.Ll],
  Lt: [KIND.Lt],
  Lm: [KIND.Lm],
  Lo: [KIND.Lo],
  M: [KIND.M],
  N: [KIND.Nd, KIND.otherNumber],
  Nd: [KIND.Nd],
};
/** Kind-table entry of the characters that stand for themselves: ASCII and white space. */
const ITSELF = 255;
const BMP_STAND_IN = 0xe000;
const ASTRAL_STAND_IN = 0xf0000;

/** The code points that stand for `category` in a text with stand-ins: its ASCII members and its kinds. */
export function standInRanges(category: Category): [number, number][] {
  const ascii = categoryRanges(category)
    .filter(([lo]) => lo < 0x80)
    .map(([lo, hi]): [number, number] => [lo, Math.min(hi, 0x7f)]);
  const kinds = KINDS_OF[category];
  const first = kinds[0]!;
  const last = kinds[kinds.length - 1]!; // each category's kinds are consecutive
  return [
    ...ascii,
    [BMP_STAND_IN + first, BMP_STAND_IN + last],
    [ASTRAL_STAND_IN + first, ASTRAL_STAND_IN + last],
  ];
}

let kindTable: Uint8Array | undefined;
/** Code point → its kind, or ITSELF; made on first use (1.1 MB). */
function kinds(): Uint8Array {
  if (kindTable) return kindTable;
  const table = new Uint8Array(0x110000).fill(KIND.none);
  const fill = (ranges: Ranges, value: number) => {
    for (const [lo, hi] of ranges) table.fill(value, lo, hi + 1);
  };
  for (const category of ['Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'M'] as const)
    fill(categoryRanges(category), KIND[category]);
  fill(categoryRanges('N'), KIND.otherNumber);
  fill(categoryRanges('Nd'), KIND.Nd);
  fill(WHITE_SPACE, ITSELF);
  fill([[0, 0x7f]], ITSELF);
  return (kindTable = table);
}

const NON_ASCII = /[^\0-\x7f]/g;

/** `text` with every character that is neither ASCII nor white space replaced by the stand-in of its kind. */
export function withStandIns(text: string): string {
  NON_ASCII.lastIndex = 0;
  let found = NON_ASCII.exec(text);
  if (!found) return text;
  const table = kinds();
  // UTF-16LE code units, copied natively; only those of the non-ASCII runs are rewritten here.
  const bytes = Buffer.from(text, 'utf16le');
  const put = (at: number, unit: number) => {
    bytes[2 * at] = unit & 0xff;
    bytes[2 * at + 1] = unit >> 8;
  };
  while (found) {
    let i = found.index;
    for (let unit = text.charCodeAt(i); unit > 0x7f; unit = text.charCodeAt(++i)) {
      const low = unit >= 0xd800 && unit <= 0xdbff ? text.charCodeAt(i + 1) : 0;
      if (low >= 0xdc00 && low <= 0xdfff) {
        // A surrogate pair (never white space); U+F0000 + kind is the pair DB80, DC00 + kind.
        put(i, 0xdb80);
        put(++i, 0xdc00 + table[(unit - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000]!);
      } else {
        // A BMP character or a lone surrogate (a code point of its own, of no category).
        const kind = table[unit]!;
        if (kind !== ITSELF) put(i, BMP_STAND_IN + kind);
      }
    }
    NON_ASCII.lastIndex = i;
    found = NON_ASCII.exec(text);
  }
  return bytes.toString('utf16le');
}
