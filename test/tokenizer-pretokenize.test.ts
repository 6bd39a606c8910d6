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
import { fixturePath, loadGoldens } from './helpers/fixtures.js';

const bundled = bundledTokenizer();
const tekken = loadTokenizer(fixturePath(loadGoldens().tokenizer.tekken));

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
