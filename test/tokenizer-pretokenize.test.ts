/**
 * The pre-tokenizer must split as mistral-common does: tiktoken reads Tekken's pattern with Rust regex semantics
 * (issue #13, defect 6), e.g. `\s` is Unicode White_Space (U+0085 in, U+FEFF out), unlike JavaScript's `\s`,
 * and `\p{…}` follows the regex crate's Unicode 16.0 tables whatever Unicode version Node's ICU has.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bundledTokenizer, loadTokenizer, TokenizerFileError } from '../src/tokenizer/index.js';
import { compileSplitPattern, rustPatternToJs, SplitPatternError } from '../src/tokenizer/split-pattern.js';
import { loadBundledTekken } from '../src/tokenizer/tekken-file.js';
import { categoryRanges, withStandIns } from '../src/tokenizer/unicode-categories.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import { loadPretokenizeReference } from './helpers/pretokenize-reference.js';
import { scratchDir } from './helpers/scratch.js';

const reference = loadPretokenizeReference();
const bundled = bundledTokenizer();
const tekken = loadTokenizer(fixturePath(loadGoldens().tokenizer.tekken));
const codePoints = (text: string) =>
  Array.from(text, (c) => 'U+' + c.codePointAt(0)!.toString(16).toUpperCase());

describe('pre-tokenizer follows the Rust regex semantics of tiktoken', () => {
  it('splits the two strings from the issue as the reference does', () => {
    const cases: [string, string[], number[]][] = [
      [
        '  \n漢字ㄱ  \u0085',
        ['  \n', '漢字ㄱ', '  \u0085'],
        [1256, 1010, 42576, 1162, 18724, 1227, 1132, 1177, 1256, 1194, 1133],
      ],
      [
        "Жİ4567 4567\uFEFF's",
        ['Жİ', '4', '5', '6', '7', ' ', '4', '5', '6', '7', "\uFEFF'", 's'],
        [42311, 29522, 1052, 1053, 1054, 1055, 1032, 1052, 1053, 1054, 1055, 1239, 1187, 1191, 1039, 1115],
      ],
    ];
    for (const [text, pieces, ids] of cases) {
      assert.deepEqual(bundled.split(text), pieces, JSON.stringify(text));
      assert.deepEqual(bundled.encode(text), ids, JSON.stringify(text));
      assert.deepEqual(tekken.encode(text), ids, JSON.stringify(text));
    }
  });

  it('the reference data is for this pattern and covers every White_Space character, U+FEFF and U+0085', () => {
    assert.equal(reference.pattern, loadBundledTekken().pattern);
    const seen = new Set(reference.cases.flatMap((c) => Array.from(c.text, (ch) => ch.codePointAt(0)!)));
    const whiteSpace = [
      0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
    ];
    for (let cp = 0x2000; cp <= 0x200a; cp++) whiteSpace.push(cp);
    for (const cp of [...whiteSpace, 0xfeff, 0x180e, 0x200b]) assert.ok(seen.has(cp), cp.toString(16));
    assert.ok(reference.cases.length > 500);
  });

  it('the reference data covers characters whose category differs between Unicode 15.0, 16.0 and 17.0', () => {
    const seen = new Set(reference.cases.flatMap((c) => Array.from(c.text, (ch) => ch.codePointAt(0)!)));
    // Ll→Lo in 17.0; new in 16.0 (Lu, Ll, Lm, M, N, Lo: Cyrillic, Garay, Todhri); new in 17.0 (Lo, M, Lu, N).
    const changed = [
      0x295, 0x1c89, 0x1c8a, 0x10d4e, 0x10d69, 0x10d40, 0x105c0, 0x88f, 0x1acf, 0xa7ce, 0x11de0,
    ];
    for (const cp of changed) assert.ok(seen.has(cp), cp.toString(16));
  });

  it('splits as Unicode 16.0 does where Unicode 15.0 or 17.0 would not', () => {
    // [text, pieces in 16.0 (tiktoken), pieces where the character has its 15.0 or 17.0 category]
    const cases: [string, string[], string[]][] = [
      ['ʕAb', ['ʕ', 'Ab'], ['ʕAb']], // U+0295: Ll, Lo in 17.0
      ['AᲉ', ['AᲉ'], ['A', 'Ᲊ']], // U+1C89: Lu, unassigned in 15.0
      ['aᲊ', ['aᲊ'], ['a', 'ᲊ']], // U+1C8A: Ll, unassigned in 15.0
      ['a\u{10D40}b', ['a', '\u{10D40}', 'b'], ['a', '\u{10D40}b']], // Garay digit zero: N, unassigned in 15.0
      ['a\u{105C0}b', ['a\u{105C0}b'], ['a', '\u{105C0}b']], // Todhri: Lo, unassigned in 15.0
      ['A\uA7CE', ['A', '\uA7CE'], ['A\uA7CE']], // unassigned, Lu in 17.0
      ['A\u1ACF', ['A', '\u1ACF'], ['A\u1ACF']], // unassigned, M in 17.0
    ];
    for (const [text, pieces, otherPieces] of cases) {
      assert.notDeepEqual(pieces, otherPieces);
      assert.deepEqual(bundled.split(text), pieces, JSON.stringify(text));
      const data = reference.cases.find((c) => c.text === text);
      assert.deepEqual(data?.pieces, pieces, `${JSON.stringify(text)} in the reference data`);
    }
  });

  it('matches the reference split and ids on every generated string', () => {
    const wrong = reference.cases.filter(
      (c) =>
        JSON.stringify(bundled.split(c.text)) !== JSON.stringify(c.pieces) ||
        JSON.stringify(bundled.encode(c.text)) !== JSON.stringify(c.ids),
    );
    assert.deepEqual(
      wrong
        .slice(0, 5)
        .map((c) => ({ text: codePoints(c.text), got: bundled.split(c.text), want: c.pieces })),
      [],
      `${wrong.length} of ${reference.cases.length} strings split differently`,
    );
  });
});

describe('the split reads no Unicode table of Node', () => {
  const pattern = loadBundledTekken().pattern;

  it("runs the Tekken pattern in its short form, with no \\p{…} and under V8's 20 KiB optimisation limit", () => {
    const splitter = compileSplitPattern(pattern);
    assert.ok(splitter.standIns);
    assert.doesNotMatch(splitter.regex.source, /\\[pP]\{/);
    assert.ok(splitter.regex.source.length < 20 * 1024, String(splitter.regex.source.length));
  });

  it('the exact form, with every category spelt out, matches the reference too', () => {
    assert.doesNotMatch(rustPatternToJs(pattern), /\\[pP]\{/);
    const exact = new RegExp(rustPatternToJs(pattern), 'gu');
    const wrong = reference.cases.filter(
      (c) => JSON.stringify(Array.from(c.text.matchAll(exact), (m) => m[0])) !== JSON.stringify(c.pieces),
    );
    assert.deepEqual(
      wrong.map((c) => codePoints(c.text)),
      [],
    );
  });

  it('falls back to the exact form where stand-ins would hide what the pattern tells apart', () => {
    // A literal non-ASCII character, a back-reference, another property: each needs the characters themselves.
    const cases: [string, string, string[]][] = [
      ['ж+|\\p{Ll}', 'жжab', ['жж', 'a', 'b']],
      ['(\\p{Ll})\\1', 'abba ʕʕ', ['bb', 'ʕʕ']],
      ['\\p{sc=Greek}+|\\p{L}+', 'αβabc', ['αβ', 'abc']],
    ];
    for (const [source, text, pieces] of cases) {
      const splitter = compileSplitPattern(source);
      assert.equal(splitter.standIns, false, source);
      assert.deepEqual(splitter.split(text), pieces, source);
    }
  });

  it('reports an invalid pattern without quoting the category classes', () => {
    assert.throws(
      () => compileSplitPattern('\\p{L}('),
      (err: Error) =>
        err instanceof SplitPatternError && err.message.length < 100 && /invalid regex/.test(err.message),
    );
  });

  it('stand-ins keep every UTF-16 offset and leave ASCII and white space alone', () => {
    const text = 'aZ9 \u0085\u3000ʕ\u{10D50}\uD800x\uDC00\uE000\u{F0000}';
    const replaced = withStandIns(text);
    assert.equal(replaced.length, text.length);
    assert.equal(replaced.slice(0, 6), text.slice(0, 6));
    assert.equal(withStandIns('plain ASCII'), 'plain ASCII');
    // Ll, Lu (astral), a lone surrogate, x, a lone surrogate, private use (BMP, astral): none of the categories.
    assert.deepEqual(
      Array.from(replaced.slice(6), (c) => c.codePointAt(0)!.toString(16)),
      ['e001', 'f0000', 'e008', '78', 'e008', 'e008', 'f0008'],
    );
  });

  it('decodes tables that agree with each other', () => {
    const count = (ranges: [number, number][]) => ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
    const union = (['Lu', 'Ll', 'Lt', 'Lm', 'Lo'] as const).reduce((n, c) => n + count(categoryRanges(c)), 0);
    assert.equal(count(categoryRanges('L')), union);
    const numbers = categoryRanges('N');
    for (const [lo, hi] of categoryRanges('Nd'))
      assert.ok(
        numbers.some(([nlo, nhi]) => nlo <= lo && hi <= nhi),
        lo.toString(16),
      );
    assert.deepEqual(categoryRanges('Lt').slice(0, 2), [
      [0x1c5, 0x1c5],
      [0x1c8, 0x1c8],
    ]);
  });
});

describe('Rust pattern → JS RegExp', () => {
  const matches = (pattern: string, text: string) =>
    new RegExp(`^(?:${rustPatternToJs(pattern)})$`, 'u').test(text);

  it('reads \\s and \\S as Unicode White_Space, inside and outside classes', () => {
    for (const pattern of ['\\s', '[\\s]', '[^\\S]']) {
      assert.ok(matches(pattern, '\u0085'), pattern);
      assert.ok(!matches(pattern, '\uFEFF'), pattern);
      assert.ok(matches(pattern, '\u3000'), pattern);
    }
    for (const pattern of ['\\S', '[\\S]', '[^\\s]']) {
      assert.ok(!matches(pattern, '\u0085'), pattern);
      assert.ok(matches(pattern, '\uFEFF'), pattern);
      assert.ok(matches(pattern, '\u{10FFFF}'), pattern);
    }
  });

  it('reads \\d, \\w and . as Rust does', () => {
    assert.ok(matches('\\d', '٣') && matches('[\\d]', '４') && !matches('\\D', '٣'));
    assert.ok(
      matches('\\w', 'ж') && matches('[\\w]', '\u0301') && matches('\\w', '_') && !matches('\\W', 'ж'),
    );
    assert.ok(matches('.', '\r') && matches('.', '\u2028') && !matches('.', '\n'));
    assert.ok(matches('[]a]', ']') && matches('[^]a]', 'b'));
  });

  it('rejects constructs that would silently mean something else in JS', () => {
    for (const pattern of [
      '\\bx',
      'x\\B',
      '[\\W]',
      '(?i:s)',
      '(?i)s',
      '[a[b]]',
      '[\\p{L}&&\\p{Greek}]',
      '[a--b]',
      '\\',
    ])
      assert.throws(() => rustPatternToJs(pattern), SplitPatternError, pattern);
  });

  it('refuses a tokenizer file whose pattern it cannot translate, naming the file', () => {
    const file = join(scratchDir('pixtral-pattern-'), 'tekken.json');
    const config = { pattern: "(?i:'s)|\\p{L}+", default_vocab_size: 1300, default_num_special_tokens: 1000 };
    writeFileSync(file, JSON.stringify({ config, vocab: [] }));
    assert.throws(
      () => loadTokenizer(file),
      (err: Error) =>
        err instanceof TokenizerFileError && err.message.startsWith(file) && /inline flags/.test(err.message),
    );
  });
});
