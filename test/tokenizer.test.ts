import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  bundledTokenizer,
  loadTokenizer,
  StreamDecoder,
  TokenizerFileError,
} from '../src/tokenizer/index.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import { scratchDir } from './helpers/scratch.js';

const goldens = loadGoldens();
const tekken = loadTokenizer(fixturePath(goldens.tokenizer.tekken));
const hf = loadTokenizer(fixturePath(goldens.model.hf, 'tokenizer.json'));
const bundled = bundledTokenizer();

describe('tekken tokenizer', () => {
  for (const [name, tok] of [
    ['tekken.json', tekken],
    ['HF tokenizer.json', hf],
    ['bundled npm vocabulary', bundled],
  ] as const) {
    it(`${name}: encodes every golden case exactly`, () => {
      for (const c of goldens.tokenizer.cases)
        assert.deepEqual(tok.encode(c.text), c.ids, JSON.stringify(c.text));
    });
  }

  it('decodes every golden case and each piece', () => {
    for (const c of goldens.tokenizer.cases) {
      assert.equal(tekken.decode(c.ids), c.text);
      assert.deepEqual(
        c.ids.map((id: number) => tekken.decode([id])),
        c.pieces,
      );
    }
    for (const d of goldens.tokenizer.decode) assert.equal(tekken.decode(d.ids), d.text);
  });

  it('has the Tekken sizes', () => {
    assert.equal(tekken.vocabSize, 131072);
    assert.equal(tekken.numSpecial, 1000);
    assert.equal(hf.vocabSize, 131072);
    assert.deepEqual(tekken.image, { patchSize: 16, maxImageSize: 1024, spatialMergeSize: 1 });
  });

  it('never parses control tokens out of user text', () => {
    assert.deepEqual(tekken.encode('[INST]'), [1091, 3174, 3074, 1093]);
    for (const id of tekken.encode('<s>[INST][IMG]</s>[/INST][TOOL_CALLS]')) assert.ok(id >= 1000);
  });

  it('decodes invalid UTF-8 to U+FFFD instead of throwing', () => {
    const lone = 1000 + 0xff; // the single byte 0xFF is never valid UTF-8
    assert.equal(tekken.decode([lone, tekken.encode('A')[0]!]), '\uFFFDA');
  });

  it('writes control tokens by name on request and rejects ids outside the vocabulary', () => {
    assert.equal(tekken.decode([1, 3, ...tekken.encode('hi'), 4], 'names'), '<s>[INST]hi[/INST]');
    assert.equal(tekken.specialName(10), '[IMG]');
    assert.equal(tekken.specialName(12), '[IMG_BREAK]');
    assert.throws(() => tekken.decode([131072]), /outside the vocabulary/);
    assert.throws(() => tekken.decode([-1]), /outside the vocabulary/);
  });

  it('round-trips arbitrary text', () => {
    const text = 'Zürich 🚀 — naïve "quotes"\n\ttabs  and 12345 +-*/ 한국어 عربى';
    assert.equal(tekken.decode(tekken.encode(text)), text);
  });
});

describe('stream decoder', () => {
  it('never emits half a character and matches the one-shot decode', () => {
    for (const c of goldens.tokenizer.cases) {
      const stream = new StreamDecoder(tekken);
      let text = '';
      for (const id of c.ids) {
        const piece = stream.push(id);
        assert.ok(!/[\uD800-\uDBFF]$/.test(piece), 'no dangling surrogate');
        text += piece;
      }
      text += stream.end();
      assert.equal(text, c.text);
    }
  });

  it('holds a split emoji until its last byte', () => {
    const ids = tekken.encode('😀');
    assert.ok(ids.length > 1);
    const stream = new StreamDecoder(tekken);
    const outs = ids.map((id) => stream.push(id));
    assert.deepEqual(outs.slice(0, -1), new Array(ids.length - 1).fill(''));
    assert.equal(outs.at(-1), '😀');
  });

  it('skips control ids and flushes an unfinished character as U+FFFD', () => {
    const stream = new StreamDecoder(tekken);
    assert.equal(stream.push(1), '');
    assert.equal(stream.push(1000 + 0xf0), '');
    assert.equal(stream.end(), '\uFFFD');
  });
});

describe('tokenizer files', () => {
  const dir = scratchDir('pixtral-tok-');
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('names the file when it is not JSON', () => {
    const file = write('tekken.json', '{ not json');
    assert.throws(
      () => loadTokenizer(file),
      (err: Error) => err instanceof TokenizerFileError && err.message.startsWith(file),
    );
  });

  it('rejects a vocabulary without the 256 byte ranks', () => {
    const file = write(
      'short.json',
      JSON.stringify({
        config: { pattern: '.', default_vocab_size: 1010, default_num_special_tokens: 1000 },
        vocab: [{ rank: 0, token_bytes: 'AA==' }],
      }),
    );
    assert.throws(() => loadTokenizer(file), /need at least 256/);
  });

  it('rejects an invalid pre-tokenisation regex', () => {
    const file = write(
      'badregex.json',
      JSON.stringify({
        config: { pattern: '(', default_vocab_size: 1300, default_num_special_tokens: 1000 },
        vocab: [],
      }),
    );
    assert.throws(() => loadTokenizer(file), /not a valid regex/);
  });

  it('names the file when it is missing', () => {
    assert.throws(() => loadTokenizer(join(dir, 'missing.json')), /missing\.json: cannot read/);
  });
});
