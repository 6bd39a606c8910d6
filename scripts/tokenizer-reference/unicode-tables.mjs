// Dev tool: writes src/tokenizer/unicode16-categories.ts, the Unicode general categories the split pattern
// uses, taken from the tables of the regex-syntax crate that tiktoken's regex engine reads (see README.md
// beside this file). The build and the tests never run this.
//
//   node scripts/tokenizer-reference/unicode-tables.mjs REGEX_SYNTAX_DIR [PATH/TO/tokref]
//
// REGEX_SYNTAX_DIR is the crate's source (its Cargo.toml must say version 0.8.11), e.g.
// BUILD_DIR/vendor/regex-syntax as build.sh unpacks it. With tokref, the tables are also checked against what
// the built regex engine matches.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';

const OUTPUT = 'src/tokenizer/unicode16-categories.ts';
const CRATE_VERSION = '0.8.11';
const UNICODE_VERSION = '16.0.0';
/** Category (JS/UCD short name) → table name in general_category.rs. */
const TABLES = {
  L: 'LETTER',
  Lu: 'UPPERCASE_LETTER',
  Ll: 'LOWERCASE_LETTER',
  Lt: 'TITLECASE_LETTER',
  Lm: 'MODIFIER_LETTER',
  Lo: 'OTHER_LETTER',
  M: 'MARK',
  N: 'NUMBER',
  Nd: 'DECIMAL_NUMBER',
};

const [crateDir, tokref] = process.argv.slice(2);
if (!crateDir) throw new Error('usage: unicode-tables.mjs REGEX_SYNTAX_DIR [PATH/TO/tokref]');
const manifest = readFileSync(join(crateDir, 'Cargo.toml'), 'utf8');
if (
  !/^name = "regex-syntax"/m.test(manifest) ||
  !new RegExp(`^version = "${CRATE_VERSION}"`, 'm').test(manifest)
)
  throw new Error(`${crateDir} is not regex-syntax ${CRATE_VERSION}`);
const source = readFileSync(join(crateDir, 'src/unicode_tables/general_category.rs'), 'utf8');
const generatedBy = source.match(/^\/\/ {3}(ucd-generate .*)$/m)?.[1];
if (!source.includes(`// Unicode version: ${UNICODE_VERSION}.`) || !generatedBy)
  throw new Error(`general_category.rs is not generated from Unicode ${UNICODE_VERSION}`);

/** The ranges of one `pub const NAME: &'static [(char, char)] = &[...];` table, as code points. */
function readTable(name) {
  const declaration = `pub const ${name}: &'static [(char, char)] =`;
  const start = source.indexOf(declaration);
  if (start < 0) throw new Error(`no table ${name}`);
  const open = source.indexOf('&[', start + declaration.length);
  const body = source.slice(open + 2, source.indexOf('];', open));
  const CHAR = String.raw`'(\\u\{[0-9a-f]+\}|\\.|[^\\'])'`;
  const entry = new RegExp(String.raw`\(${CHAR}, ${CHAR}\)`, 'gu');
  if (body.replace(entry, '').trim().replace(/[\s,]/g, '') !== '')
    throw new Error(`${name}: unreadable entries`);
  const ranges = [...body.matchAll(entry)].map((m) => [charLiteral(m[1]), charLiteral(m[2])]);
  let previous = -2;
  for (const [lo, hi] of ranges) {
    if (lo <= previous + 1 || hi < lo) throw new Error(`${name}: ranges not sorted, disjoint and apart`);
    previous = hi;
  }
  return ranges;
}

function charLiteral(text) {
  const simple = { '\\0': 0, '\\t': 9, '\\n': 10, '\\r': 13, "\\'": 39, '\\"': 34, '\\\\': 92 };
  if (text in simple) return simple[text];
  if (text.startsWith('\\u{')) return parseInt(text.slice(3, -1), 16);
  if (text.startsWith('\\')) throw new Error(`unknown escape ${text}`);
  return text.codePointAt(0);
}

function union(...lists) {
  const all = lists.flat().sort((a, b) => a[0] - b[0]);
  const out = [];
  for (const [lo, hi] of all) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const tables = Object.fromEntries(Object.entries(TABLES).map(([short, name]) => [short, readTable(name)]));
if (!same(union(tables.Lu, tables.Ll, tables.Lt, tables.Lm, tables.Lo), tables.L))
  throw new Error('LETTER is not the union of Lu, Ll, Lt, Lm and Lo');

if (tokref) {
  // What the compiled regex engine matches, code point by code point (tokref classes), must be these tables.
  const matched = new Map(
    execFileSync(tokref, ['classes'])
      .toString()
      .trim()
      .split('\n')
      .map((line) => {
        const [name, ...ranges] = line.split(' ');
        return [name, ranges.map((r) => r.split('-').map((h) => parseInt(h, 16)))];
      }),
  );
  for (const name of ['L', 'N', 'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'M'])
    if (!same(matched.get(name), tables[name]))
      throw new Error(`tokref's \\p{${name}} differs from the table`);
  console.error('tables equal what tokref matches for L, N, Lu, Ll, Lt, Lm, Lo, M');
}

// Encoding: per range, the gap from the end of the previous range (from 0 for the first) and the length - 1,
// each a big-endian base-32 number whose last digit is ALPHABET[0..31] and earlier digits ALPHABET[32..63].
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
function encodeNumber(n) {
  let out = ALPHABET[n % 32];
  for (n = Math.floor(n / 32); n > 0; n = Math.floor(n / 32)) out = ALPHABET[32 + (n % 32)] + out;
  return out;
}
function encode(ranges) {
  let next = 0;
  let out = '';
  for (const [lo, hi] of ranges) {
    out += encodeNumber(lo - next) + encodeNumber(hi - lo);
    next = hi + 1;
  }
  if (!same(decode(out), ranges)) throw new Error('encoding does not round-trip');
  return out;
}
function decode(text) {
  const numbers = [];
  let n = 0;
  for (const c of text) {
    const digit = ALPHABET.indexOf(c);
    n = n * 32 + (digit % 32);
    if (digit < 32) {
      numbers.push(n);
      n = 0;
    }
  }
  const ranges = [];
  for (let i = 0, next = 0; i < numbers.length; i += 2) {
    const lo = next + numbers[i];
    ranges.push([lo, lo + numbers[i + 1]]);
    next = lo + numbers[i + 1] + 1;
  }
  return ranges;
}
const chunks = (text) => text.match(/.{1,100}/g).map((chunk) => `'${chunk}'`);

const encoded = Object.fromEntries(Object.entries(tables).map(([short, ranges]) => [short, encode(ranges)]));
const stats = Object.entries(tables)
  .map(([short, ranges]) => `${short} ${ranges.length}`)
  .join(', ');
const module = `// GENERATED FILE, do not edit. Written by scripts/tokenizer-reference/unicode-tables.mjs (see the
// README beside it) from src/unicode_tables/general_category.rs of the regex-syntax ${CRATE_VERSION} crate,
// whose tables were made by \`${generatedBy}\`.
/**
 * The Unicode ${UNICODE_VERSION} general categories that the split pattern uses, exactly as the regex crate
 * behind tiktoken reads them (so the split does not depend on the Unicode version of Node's ICU).
 * Ranges per category: ${stats}.
 *
 * Encoding (decoded by unicode-categories.ts): per range, the gap from the end of the previous range (from 0
 * for the first) then the range's length - 1, each a big-endian base-32 number whose last digit is a
 * character of ALPHABET[0..31] and whose earlier digits are ALPHABET[32..63].
 */
export const UNICODE_VERSION = '${UNICODE_VERSION}';
export const ALPHABET = '${ALPHABET}';
export const CATEGORIES = {
${Object.entries(encoded)
  .map(([short, text]) => `  ${short}: ${chunks(text).join(' +\n')},`)
  .join('\n')}
} as const;
`;
const formatted = await format(module, { ...(await resolveConfig(OUTPUT)), filepath: OUTPUT });
writeFileSync(OUTPUT, formatted);
const bytes = Object.values(encoded).reduce((sum, text) => sum + text.length, 0);
console.error(
  `wrote ${OUTPUT}: ${stats}; ${bytes} bytes of encoded ranges, ${formatted.length} bytes in all`,
);
