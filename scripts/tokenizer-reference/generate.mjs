// Dev tool: writes test/data/pretokenize-reference.json, the Tekken pre-token splits of generated strings as the
// Rust regex engine (tiktoken's) makes them. See README.md beside this file; the tests never run this.
//
//   npx tsc -p tsconfig.json && node scripts/tokenizer-reference/generate.mjs PATH/TO/tokref [FIXTURE_DIR]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BytePairEncoder, textToKey } from '../../dist/src/tokenizer/bpe.js';
import {
  bundledTekkenPath,
  loadBundledTekken,
  loadTekkenFile,
} from '../../dist/src/tokenizer/tekken-file.js';

const OUTPUT = 'test/data/pretokenize-reference.json';
const [tokref, fixtureDir = '../shared/fixtures/tiny-pixtral'] = process.argv.slice(2);
if (!tokref) throw new Error('usage: generate.mjs PATH/TO/tokref [FIXTURE_DIR]');

const bundled = loadBundledTekken();
const pattern = bundled.pattern;
const work = mkdtempSync(join(tmpdir(), 'tokref-'));
const patternFile = join(work, 'pattern.txt');
writeFileSync(patternFile, pattern);

/** Pre-token pieces of each text, split by the Rust reference. */
function referenceSplit(texts) {
  const hex = (s) => Array.from(s, (c) => c.codePointAt(0).toString(16)).join(' ');
  const unhex = (h) => (h === '' ? '' : String.fromCodePoint(...h.split(' ').map((x) => parseInt(x, 16))));
  const input = texts.map((t) => hex(t) + '\n').join('');
  const output = execFileSync(tokref, ['split', patternFile], { input, maxBuffer: 1 << 28 }).toString();
  const lines = output.split('\n').slice(0, texts.length);
  return lines.map((line) => (line === '' ? [] : line.split('|').map(unhex)));
}

function idsOf(encoder, numSpecial, pieces) {
  const ranks = [];
  for (const piece of pieces) encoder.encodeKey(textToKey(piece), ranks);
  return ranks.map((rank) => rank + numSpecial);
}

// 1. The reference must reproduce the fixture goldens (split by Rust, merged by our BPE) before we trust it.
const goldens = JSON.parse(readFileSync(join(fixtureDir, 'goldens.json'), 'utf8'));
const fixtureVocab = loadTekkenFile(join(fixtureDir, goldens.tokenizer.tekken));
if (fixtureVocab.pattern !== pattern)
  throw new Error('fixture and bundled vocabularies have different patterns');
const fixtureEncoder = new BytePairEncoder(fixtureVocab.rankBytes);
const goldenCases = goldens.tokenizer.cases;
referenceSplit(goldenCases.map((c) => c.text)).forEach((pieces, i) => {
  const ids = idsOf(fixtureEncoder, fixtureVocab.numSpecial, pieces);
  if (JSON.stringify(ids) !== JSON.stringify(goldenCases[i].ids))
    throw new Error(`reference disagrees with golden ${JSON.stringify(goldenCases[i].text)}`);
});
console.error(`reference reproduces all ${goldenCases.length} golden tokenizer cases`);

// 2. Character pools for every class of the pattern, each checked against the Rust engine's own tables. Letters,
// marks and numbers are drawn only where Rust and this Node agree and the character exists in Unicode 15.0
// (Node 20.9's ICU), so the data tests the pattern's meaning, not which Unicode version an engine bundles.
const rustClasses = new Map(
  execFileSync(tokref, ['classes'])
    .toString()
    .trim()
    .split('\n')
    .map((line) => {
      const [name, ...ranges] = line.split(' ');
      const set = new Set();
      for (const range of ranges) {
        const [lo, hi] = range.split('-').map((h) => parseInt(h, 16));
        for (let cp = lo; cp <= hi; cp++) set.add(cp);
      }
      return [name, set];
    }),
);
const inRust = (name) => (cp) => rustClasses.get(name).has(cp);
const inJs = (property) => {
  const regex = new RegExp(`^\\p{${property}}$`, 'u');
  return (cp) => regex.test(String.fromCodePoint(cp));
};
const old = inRust('Age15');
const notLetterNumberSpace = (cp) => !['L', 'N', 's'].some((name) => rustClasses.get(name).has(cp));

function codePoints(...tests) {
  const out = [];
  for (let cp = 0; cp <= 0x10ffff; cp++)
    if ((cp < 0xd800 || cp > 0xdfff) && tests.every((test) => test(cp))) out.push(cp);
  return out;
}

const WHITE_SPACE = [...rustClasses.get('s')];
const NOT_WHITE_SPACE_LOOKALIKES = [0xfeff, 0x180e, 0x200b, 0x2060];
const pools = {
  upper: codePoints(inRust('Lu'), inJs('Lu'), old),
  lower: codePoints(inRust('Ll'), inJs('Ll'), old),
  title: codePoints(inRust('Lt'), inJs('Lt'), old),
  modifier: codePoints(inRust('Lm'), inJs('Lm'), old),
  otherLetter: codePoints(inRust('Lo'), inJs('Lo'), old),
  mark: codePoints(inRust('M'), inJs('M'), old),
  digit: codePoints(inRust('N'), inJs('Nd'), old),
  letterNumber: codePoints(inRust('N'), inJs('Nl'), old),
  otherNumber: codePoints(inRust('N'), inJs('No'), old),
  whiteSpace: [...WHITE_SPACE, 0x0d, 0x0a, 0x0d, 0x0a],
  notWhiteSpace: NOT_WHITE_SPACE_LOOKALIKES,
  punctuation: codePoints(inJs('P'), notLetterNumberSpace, old),
  symbol: codePoints(inJs('S'), notLetterNumberSpace, old),
  control: codePoints(inJs('Cc'), notLetterNumberSpace),
  format: codePoints(inJs('Cf'), notLetterNumberSpace, old),
  privateUse: codePoints(inJs('Co')),
  unassigned: codePoints(inRust('Cn'), inJs('Cn')),
  emoji: codePoints(inJs('Extended_Pictographic'), notLetterNumberSpace, old),
  ascii: codePoints((cp) => cp >= 0x20 && cp < 0x7f),
  // Characters whose class is easy to get wrong: long s and Kelvin sign (case folding), dotted I, a titlecase
  // digraph, non-ASCII digits, the pattern's own literals.
  tricky: Array.from("ſKKkİıǅʰЖ漢ㄱ٣४１Ⅻ½²'/ \r\n\u0301\u0903\u20dd\u200d", (c) => c.codePointAt(0)),
};
const WEIGHTS = {
  upper: 3,
  lower: 4,
  title: 0.5,
  modifier: 1,
  otherLetter: 3,
  mark: 2,
  digit: 1.5,
  letterNumber: 0.5,
  otherNumber: 0.5,
  whiteSpace: 5,
  notWhiteSpace: 1,
  punctuation: 2,
  symbol: 1,
  control: 0.5,
  format: 0.5,
  privateUse: 0.3,
  unassigned: 0.3,
  emoji: 0.5,
  ascii: 4,
  tricky: 3,
};

// mulberry32: a tiny seeded generator, so the data regenerates identically.
let seed = 20240911;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(random() * list.length)];
const totalWeight = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
const used = Object.fromEntries(Object.keys(pools).map((name) => [name, 0]));
function randomChar() {
  let r = random() * totalWeight;
  for (const [name, weight] of Object.entries(WEIGHTS)) {
    r -= weight;
    if (r < 0 || name === 'tricky') {
      used[name]++;
      return String.fromCodePoint(pick(pools[name]));
    }
  }
}

// 3. The strings: the two, every white-space-like character in the contexts that the pattern's
// white-space alternatives tell apart, contractions in mixed case, then random mixtures of all pools.
const texts = ['  \n漢字ㄱ  \u0085', "Жİ4567 4567\uFEFF's"];
const CONTEXTS = ['a_b', 'a _b', '__x', 'x_\n', '\n__', '_!', '! _?', '_\r\n_', "A_'s", '4_5', 'x_', '_'];
for (const cp of [...WHITE_SPACE, ...NOT_WHITE_SPACE_LOOKALIKES])
  for (const context of CONTEXTS) texts.push(context.replaceAll('_', String.fromCodePoint(cp)));
texts.push(
  "it's IT'S It'ſ IT'K we'LL I'm I'M don'T",
  "ſ's K's KELVIN'K 'ſ 's 'S 'k",
  'ſſ KK ſK Kſ',
  '\r\n\r\n \r\n\t\r\n\u0085\r\n\u2028\n\u2029',
);
for (let i = 0; i < 400; i++) {
  const length = 1 + Math.floor(random() * 16);
  let text = '';
  for (let j = 0; j < length; j++) text += randomChar();
  texts.push(text);
}
for (const [name, count] of Object.entries(used))
  if (count === 0) throw new Error(`pool ${name} never drawn`);
console.error('characters drawn per pool:', JSON.stringify(used));

// 3b. Characters whose category differs between Unicode 15.0 (Node 20.9's ICU 73; found with ICU 72), 16.0
// (tiktoken's regex crate) and 17.0 (Node 20.20's ICU), in contexts that tell their categories apart: the split
// must follow 16.0 whichever Node runs it. The 16.0 column is checked against tokref, the 15.0 one against the
// crate's Age (and the 17.0 one against Node's tables when Node has Unicode 17.0); Cn: unassigned.
const VERSION_SENSITIVE = [
  // [code point, Unicode 15.0, 16.0, 17.0]
  [0x0295, 'Ll', 'Ll', 'Lo'], // LATIN LETTER PHARYNGEAL VOICED FRICATIVE
  [0x1c89, 'Cn', 'Lu', 'Lu'], // CYRILLIC CAPITAL LETTER TJE
  [0x1c8a, 'Cn', 'Ll', 'Ll'], // CYRILLIC SMALL LETTER TJE
  [0xa7cb, 'Cn', 'Lu', 'Lu'], // LATIN CAPITAL LETTER RAMS HORN
  [0xa7cd, 'Cn', 'Ll', 'Ll'], // LATIN SMALL LETTER S WITH DIAGONAL STROKE
  [0xa7db, 'Cn', 'Ll', 'Ll'], // LATIN SMALL LETTER LAMBDA
  [0xa7dc, 'Cn', 'Lu', 'Lu'], // LATIN CAPITAL LETTER LAMBDA WITH STROKE
  [0x10d50, 'Cn', 'Lu', 'Lu'], // Garay
  [0x10d70, 'Cn', 'Ll', 'Ll'],
  [0x10d4e, 'Cn', 'Lm', 'Lm'],
  [0x10d69, 'Cn', 'M', 'M'],
  [0x10d40, 'Cn', 'N', 'N'],
  [0x105c0, 'Cn', 'Lo', 'Lo'], // Todhri
  [0x11380, 'Cn', 'Lo', 'Lo'], // Tulu-Tigalari
  [0x113b8, 'Cn', 'M', 'M'],
  [0x11bc0, 'Cn', 'Lo', 'Lo'], // Sunuwar
  [0x16100, 'Cn', 'Lo', 'Lo'], // Gurung Khema
  [0x16d40, 'Cn', 'Lm', 'Lm'], // Kirat Rai
  [0x16d6b, 'Cn', 'Lm', 'Lm'],
  [0x1e5d0, 'Cn', 'Lo', 'Lo'], // Ol Onal
  [0x1e5f1, 'Cn', 'N', 'N'],
  [0x116d0, 'Cn', 'N', 'N'], // Myanmar Extended-C digit
  [0x1ccf0, 'Cn', 'N', 'N'], // outlined digit
  [0x0897, 'Cn', 'M', 'M'], // ARABIC PEPET
  [0x2ebf0, 'Cn', 'Lo', 'Lo'], // CJK Extension I (Unicode 15.1)
  [0x088f, 'Cn', 'Cn', 'Lo'], // new in 17.0 from here on
  [0x0c5c, 'Cn', 'Cn', 'Lo'],
  [0x10940, 'Cn', 'Cn', 'Lo'],
  [0x1acf, 'Cn', 'Cn', 'M'],
  [0xa7ce, 'Cn', 'Cn', 'Lu'],
  [0x16ea0, 'Cn', 'Cn', 'Lu'],
  [0xa7cf, 'Cn', 'Cn', 'Ll'],
  [0x16ebb, 'Cn', 'Cn', 'Ll'],
  [0xa7f1, 'Cn', 'Cn', 'Lm'],
  [0x16ff2, 'Cn', 'Cn', 'Lm'],
  [0x11de0, 'Cn', 'Cn', 'N'],
  [0x16ff4, 'Cn', 'Cn', 'N'],
  [0x11f04, 'Lo', 'Lo', 'Lo'], // Kawi (Unicode 15.0; not in an older tiktoken's 14.0)
  [0x11f50, 'N', 'N', 'N'],
];
const PATTERN_CATEGORIES = ['Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'M', 'N'];
const rustCategory = (cp) =>
  PATTERN_CATEGORIES.find((name) => rustClasses.get(name).has(cp)) ?? (inRust('Cn')(cp) ? 'Cn' : '-');
const nodeHas17 = process.versions.unicode === '17.0';
const nodeCategory = (cp) =>
  PATTERN_CATEGORIES.find((name) => inJs(name)(cp)) ?? (inJs('Cn')(cp) ? 'Cn' : '-');
for (const [cp, u15, u16, u17] of VERSION_SENSITIVE) {
  const name = 'U+' + cp.toString(16).toUpperCase();
  if (rustCategory(cp) !== u16) throw new Error(`${name} is ${rustCategory(cp)} in tokref, not ${u16}`);
  if ((u15 === 'Cn') === old(cp)) throw new Error(`${name}: Unicode 15.0 age disagrees with ${u15}`);
  if (nodeHas17 && nodeCategory(cp) !== u17)
    throw new Error(`${name} is ${nodeCategory(cp)} in Node, not ${u17}`);
}
const SENSITIVE_CONTEXTS = ['_', 'a_', '_a', 'A_', '_A', 'a_b', '_Ab', 'A_b', '1_2', ' _', '!_a', '__'];
for (const [cp] of VERSION_SENSITIVE)
  for (const context of SENSITIVE_CONTEXTS) texts.push(context.replaceAll('_', String.fromCodePoint(cp)));

// 4. Split with Rust, merge with the real vocabulary, write one case per line with everything outside printable
// ASCII escaped (so no editor can normalise away a BOM or a line separator).
const encoder = new BytePairEncoder(bundled.rankBytes);
const cases = referenceSplit(texts).map((pieces, i) => ({
  text: texts[i],
  pieces,
  ids: idsOf(encoder, bundled.numSpecial, pieces),
}));
const ascii = (value) =>
  JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
const header = {
  about:
    'Tekken pre-token splits as tiktoken makes them (Rust fancy-regex/regex), with ids from the real vocabulary. ' +
    'Generated by scripts/tokenizer-reference/generate.mjs; see the README beside it.',
  vocabulary: bundledTekkenPath().replace(/^.*node_modules\//, ''),
  pattern,
};
const body = cases.map((c) => '    ' + ascii(c)).join(',\n');
const json = ascii(header).slice(0, -1) + `,\n  "cases": [\n${body}\n  ]\n}\n`;
writeFileSync(OUTPUT, json);
console.error(`wrote ${cases.length} cases to ${OUTPUT}`);
