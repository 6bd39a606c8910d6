/**
 * The pre-tokenizer must split as mistral-common does: tiktoken reads Tekken's pattern with Rust regex semantics
 * (issue #13, defect 6), e.g. `\s` is Unicode White_Space (U+0085 in, U+FEFF out), unlike JavaScript's `\s`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bundledTokenizer, loadTokenizer, TokenizerFileError } from '../src/tokenizer/index.js';
import { rustPatternToJs, SplitPatternError } from '../src/tokenizer/split-pattern.js';
import { loadBundledTekken } from '../src/tokenizer/tekken-file.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import { loadPretokenizeReference } from './helpers/pretokenize-reference.js';

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
    const file = join(mkdtempSync(join(tmpdir(), 'pixtral-pattern-')), 'tekken.json');
    const config = { pattern: "(?i:'s)|\\p{L}+", default_vocab_size: 1300, default_num_special_tokens: 1000 };
    writeFileSync(file, JSON.stringify({ config, vocab: [] }));
    assert.throws(
      () => loadTokenizer(file),
      (err: Error) =>
        err instanceof TokenizerFileError && err.message.startsWith(file) && /inline flags/.test(err.message),
    );
  });
});
