/**
 * The pre-tokenisation pattern of a tokenizer file is written for Rust: mistral-common runs Tekken through
 * tiktoken, whose `fancy-regex` hands the pattern to the `regex` crate (Unicode mode). A few escapes look the
 * same in JavaScript but mean something else there, so this is the one place that turns such a pattern into a
 * JS RegExp, rewriting them as explicit classes:
 *  - `\s` is Unicode White_Space in Rust: it includes U+0085 (NEL) and excludes U+FEFF (BOM); JS's `\s` does
 *    the opposite for both. `\S` likewise.
 *  - `\d` is any decimal digit (`\p{Nd}`) in Rust, ASCII only in JS.
 *  - `\w` is Unicode word characters in Rust, ASCII only in JS.
 *  - `.` excludes only `\n` in Rust; JS's also excludes `\r`, U+2028 and U+2029.
 *  - `\p{…}` general categories mean the same in both, but each engine reads its own Unicode tables: the
 *    regex crate its built-in Unicode 16.0 ones, Node its ICU's (Unicode 15.0 in Node 20.9, 17.0 in Node
 *    20.20), and characters assigned or recategorised in between (U+0295 ʕ: Ll in 16.0, Lo in 17.0) would
 *    split differently. So the categories the Tekken pattern uses (L, Lu, Ll, Lt, Lm, Lo, M, N), and Nd for
 *    `\d`, are read from the regex crate's own tables (unicode-categories.ts), never from Node's. Other
 *    properties (and `\w`, which needs Alphabetic) are left to Node's tables.
 * Constructs that differ and have no such rewrite (Unicode word boundaries, nested classes and class set
 * operations, inline flags such as `(?i)`) are rejected rather than silently matched differently; so are
 * Rust-only spellings (`\pL`, `\p{letter}`, `\x{…}`), which JS refuses to compile.
 *
 * A pattern has two forms. The exact one spells the categories out as classes of code points, which makes it
 * too long for V8 to optimise; so where the pattern allows (it names no characters but ASCII and white space,
 * and no other properties), the split runs a short form on the text with stand-ins for all other characters
 * (see unicode-categories.ts), which splits alike.
 */
import {
  categoryRanges,
  standInRanges,
  WHITE_SPACE,
  withStandIns,
  type Category,
  type Ranges,
} from './unicode-categories.js';

/** Rust's Unicode `\w`: Alphabetic, marks, decimal digits, connector punctuation and joiners. */
const WORD_BODY = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';

/** The general categories with a table: each JS spelling of their names (Rust reads them alike) → its key. */
const CATEGORY_NAMES: Readonly<Record<string, Category>> = {
  L: 'L',
  Letter: 'L',
  Lu: 'Lu',
  Uppercase_Letter: 'Lu',
  Ll: 'Ll',
  Lowercase_Letter: 'Ll',
  Lt: 'Lt',
  Titlecase_Letter: 'Lt',
  Lm: 'Lm',
  Modifier_Letter: 'Lm',
  Lo: 'Lo',
  Other_Letter: 'Lo',
  M: 'M',
  Mark: 'M',
  Combining_Mark: 'M',
  N: 'N',
  Number: 'N',
  Nd: 'Nd',
  Decimal_Number: 'Nd',
  digit: 'Nd',
};
/** `\p{X}` or `\P{X}` (after the backslash), also spelt `\p{gc=X}` or `\p{General_Category=X}`. */
const PROPERTY = /^[pP]\{(?:(?:gc|General_Category)=)?(\w+)\}/;
/** Escapes (after the backslash) that name ASCII characters only: the short form may keep them. */
const ASCII_ESCAPE = /^[rntfv\x20-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]$/;

const WHITE_SPACE_BODY = rangesToClassBody(WHITE_SPACE);
const NOT_WHITE_SPACE_BODY = rangesToClassBody(complement(WHITE_SPACE));

/** Rewrites of `\X` outside a class, and inside one (where only class-body text may go; null: impossible). */
const OUTSIDE_CLASS: Readonly<Record<string, string>> = {
  s: `[${WHITE_SPACE_BODY}]`,
  S: `[^${WHITE_SPACE_BODY}]`,
  w: `[${WORD_BODY}]`,
  W: `[^${WORD_BODY}]`,
};
const INSIDE_CLASS: Readonly<Record<string, string | null>> = {
  s: WHITE_SPACE_BODY,
  S: NOT_WHITE_SPACE_BODY,
  w: WORD_BODY,
  W: null,
};
const WORD_BOUNDARIES = new Set(['b', 'B', '<', '>']);
/** What may follow `(?` in both engines with the same meaning: non-capturing groups and look-arounds. */
const GROUP_KINDS = [':', '=', '!', '<=', '<!'];

export class SplitPatternError extends Error {
  constructor(pattern: string, problem: string) {
    super(`${problem} in split pattern ${JSON.stringify(pattern)}`);
    this.name = 'SplitPatternError';
  }
}

/** Splits text into pre-tokens as the Rust regex engine does with the pattern it was compiled from. */
export class SplitPattern {
  /** `regex` is the short form, run on the text with stand-ins, if `standIns`; else the exact form. */
  constructor(
    readonly regex: RegExp,
    readonly standIns: boolean,
  ) {}

  /** Calls `visit` with each piece of `text`, in order. */
  forEachPiece(text: string, visit: (piece: string) => void): void {
    const subject = this.standIns ? withStandIns(text) : text;
    if (subject === text) for (const match of text.matchAll(this.regex)) visit(match[0]);
    else
      for (const match of subject.matchAll(this.regex))
        visit(text.slice(match.index, match.index + match[0].length));
  }

  split(text: string): string[] {
    const pieces: string[] = [];
    this.forEachPiece(text, (piece) => pieces.push(piece));
    return pieces;
  }
}

/** The splitter that splits text as the Rust regex engine would with `pattern`. */
export function compileSplitPattern(pattern: string): SplitPattern {
  const short = translate(pattern, true);
  const source = short ?? translate(pattern, false)!;
  try {
    return new SplitPattern(new RegExp(source, 'gu'), short !== null);
  } catch (err) {
    // V8's message quotes the whole source, category classes included: keep only its reason.
    const message = (err as Error).message;
    throw new SplitPatternError(pattern, `invalid regex (${message.slice(message.lastIndexOf(': ') + 2)})`);
  }
}

/** JS RegExp source (`u` flag) with the meaning `pattern` has in Rust's `regex` crate: the exact form. */
export function rustPatternToJs(pattern: string): string {
  return translate(pattern, false)!;
}

/**
 * The exact form of `pattern` as JS RegExp source, or with `standIns` its short form: the same, but with each
 * category as its stand-in class, for texts with stand-ins; null if the pattern names a character or property
 * that a stand-in would hide.
 */
function translate(pattern: string, standIns: boolean): string | null {
  const fail = (problem: string): never => {
    throw new SplitPatternError(pattern, problem);
  };
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[++i] ?? fail('trailing backslash');
      if (WORD_BOUNDARIES.has(next)) fail(`\\${next} (Unicode word boundary)`);
      // A general category with a table, or `\d` / `\D` (Rust: `\p{Nd}` / `\P{Nd}`).
      const property = PROPERTY.exec(pattern.slice(i));
      const category = property
        ? CATEGORY_NAMES[property[1]!]
        : next === 'd' || next === 'D'
          ? 'Nd'
          : undefined;
      if (category) {
        const negated = next === 'P' || next === 'D';
        if (inClass) out += categoryBody(category, negated, standIns);
        else out += `[${negated ? '^' : ''}${categoryBody(category, false, standIns)}]`;
        if (property) i += property[0].length - 1;
        continue;
      }
      if (standIns && next !== 's' && next !== 'S' && !ASCII_ESCAPE.test(next)) return null;
      const rewrite = inClass ? INSIDE_CLASS[next] : OUTSIDE_CLASS[next];
      if (rewrite === null) fail(`\\${next} inside a class`);
      out += rewrite ?? c + next;
    } else if (standIns && c > '\x7f') {
      return null;
    } else if (inClass) {
      const pair = pattern.slice(i, i + 2);
      if (c === '[' || pair === '&&' || pair === '--' || pair === '~~')
        fail(`"${c === '[' ? c : pair}" inside a class (nested class or set operation)`);
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
      if (pattern[i + 1] === '^') out += pattern[++i];
      // Rust reads a ']' right after '[' or '[^' as a literal; in JS it would close an empty class.
      if (pattern[i + 1] === ']') out += '\\' + pattern[++i];
    } else if (c === '.') {
      out += '[^\\n]';
    } else if (c === '(' && pattern[i + 1] === '?') {
      if (!GROUP_KINDS.some((kind) => pattern.startsWith(kind, i + 2))) fail('inline flags or a named group');
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

/** Class bodies of the categories and of their complements, exact or with stand-ins, made on first use. */
const categoryBodies = new Map<string, string>();
function categoryBody(category: Category, negated: boolean, standIns: boolean): string {
  const key = `${negated ? '^' : ''}${standIns ? '~' : ''}${category}`;
  let body = categoryBodies.get(key);
  if (body === undefined) {
    const ranges = standIns ? standInRanges(category) : categoryRanges(category);
    body = rangesToClassBody(negated ? complement(ranges) : ranges);
    categoryBodies.set(key, body);
  }
  return body;
}

function complement(ranges: Ranges): [number, number][] {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

function rangesToClassBody(ranges: Ranges): string {
  return ranges.map(([lo, hi]) => (lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`)).join('');
}

/**
 * A code point in a class body: beyond Latin-1 as itself (a fifth of the length of its escape, which matters in
 * the exact form's large classes), but escaped if it is in Latin-1, a surrogate, private use (the stand-ins), or
 * white space or a format character of General Punctuation (U+2000–U+206F) or elsewhere (U+1680, U+3000,
 * U+FEFF).
 */
function classChar(cp: number): string {
  const escape =
    cp <= 0xff ||
    (cp >= 0xd800 && cp <= 0xf8ff) ||
    (cp >= 0x2000 && cp <= 0x206f) ||
    cp === 0x1680 ||
    cp === 0x3000 ||
    cp === 0xfeff ||
    cp >= 0xf0000;
  return escape ? `\\u{${cp.toString(16)}}` : String.fromCodePoint(cp);
}
