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
 * Constructs that differ and have no such rewrite (Unicode word boundaries, nested classes and class set
 * operations, inline flags such as `(?i)`) are rejected rather than silently matched differently; so are
 * Rust-only spellings (`\pL`, `\x{…}`), which JS refuses to compile. `\p{…}` general categories mean the same in
 * both, but each engine reads its own Unicode tables (Node: its ICU; the regex crate: its built-in ones), so a
 * character whose category changed between the two Unicode versions can still split differently.
 */

/** Unicode White_Space, Rust's `\s`. */
const WHITE_SPACE: readonly (readonly [number, number])[] = [
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

/** Rust's Unicode `\w`: Alphabetic, marks, decimal digits, connector punctuation and joiners. */
const WORD_BODY = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';

const WHITE_SPACE_BODY = rangesToClassBody(WHITE_SPACE);
const NOT_WHITE_SPACE_BODY = rangesToClassBody(complement(WHITE_SPACE));

/** Rewrites of `\X` outside a class, and inside one (where only class-body text may go; null: impossible). */
const OUTSIDE_CLASS: Readonly<Record<string, string>> = {
  s: `[${WHITE_SPACE_BODY}]`,
  S: `[^${WHITE_SPACE_BODY}]`,
  d: '\\p{Nd}',
  D: '\\P{Nd}',
  w: `[${WORD_BODY}]`,
  W: `[^${WORD_BODY}]`,
};
const INSIDE_CLASS: Readonly<Record<string, string | null>> = {
  s: WHITE_SPACE_BODY,
  S: NOT_WHITE_SPACE_BODY,
  d: '\\p{Nd}',
  D: '\\P{Nd}',
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

/** The global, Unicode-mode RegExp that splits text as the Rust regex engine would with `pattern`. */
export function compileSplitPattern(pattern: string): RegExp {
  return new RegExp(rustPatternToJs(pattern), 'gu');
}

/** JS RegExp source (for the `u` flag) with the meaning `pattern` has in Rust's `regex` crate. */
export function rustPatternToJs(pattern: string): string {
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
      const rewrite = inClass ? INSIDE_CLASS[next] : OUTSIDE_CLASS[next];
      if (rewrite === null) fail(`\\${next} inside a class`);
      out += rewrite ?? c + next;
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

function complement(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

function rangesToClassBody(ranges: readonly (readonly [number, number])[]): string {
  const cp = (n: number) => `\\u{${n.toString(16)}}`;
  return ranges.map(([lo, hi]) => (lo === hi ? cp(lo) : `${cp(lo)}-${cp(hi)}`)).join('');
}
