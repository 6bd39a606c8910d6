import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonMachine } from '../src/generate/grammar/json-machine.js';
import {
  ANY,
  ANY_OBJECT,
  compileSchema,
  SchemaError,
  type SchemaNode,
} from '../src/generate/grammar/schema.js';
import { JsonConstraint } from '../src/generate/grammar/token-constraint.js';
import { maskCache } from '../src/generate/grammar/token-mask.js';
import { tokenTrie } from '../src/generate/grammar/token-trie.js';
import { SeededRandom } from '../src/generate/random.js';
import { bundledTokenizer, SpecialId } from '../src/tokenizer/index.js';
import { validator } from './helpers/ajv.js';

const utf8 = new TextEncoder();

/** Feeds the text; 'complete', 'prefix' (valid so far, unfinished) or 'rejected'. */
function run(text: string, schema: SchemaNode = ANY): 'complete' | 'prefix' | 'rejected' {
  const machine = JsonMachine.start(schema);
  if (!machine.pushBytes(utf8.encode(text))) return 'rejected';
  return machine.complete ? 'complete' : 'prefix';
}

function randomJson(random: SeededRandom, depth = 0): unknown {
  const pick = Math.floor(random.next() * (depth > 2 ? 4 : 6));
  const strings = ['', 'a', 'héllo', 'quote"d', 'back\\slash', 'line\nbreak', '日本', '\u0001'];
  switch (pick) {
    case 0:
      return [0, -1, 3.25, 1e21, -0.5e-7, 42][Math.floor(random.next() * 6)];
    case 1:
      return strings[Math.floor(random.next() * strings.length)];
    case 2:
      return [true, false, null][Math.floor(random.next() * 3)];
    case 3:
      return Math.floor(random.next() * 1000);
    case 4:
      return Array.from({ length: Math.floor(random.next() * 4) }, () => randomJson(random, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(random.next() * 4) }, (_, i) => [
          `k${i}`,
          randomJson(random, depth + 1),
        ]),
      );
  }
}

/** JSON.stringify with one space after each `:` and `,` outside strings (the spaced form the grammar allows). */
function spaced(doc: unknown): string {
  if (Array.isArray(doc)) return `[${doc.map(spaced).join(', ')}]`;
  if (typeof doc === 'object' && doc !== null)
    return `{${Object.entries(doc)
      .map(([k, v]) => `${JSON.stringify(k)}: ${spaced(v)}`)
      .join(', ')}}`;
  return JSON.stringify(doc);
}

/** Whether every whitespace byte outside strings is a single space right after `:` or `,`. */
function compactSpacing(text: string): boolean {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (/\s/.test(c) && !(c === ' ' && (text[i - 1] === ':' || text[i - 1] === ','))) return false;
  }
  return true;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('incremental JSON validator', () => {
  it('accepts random documents compact or with one space after : and , — and refuses them pretty-printed', () => {
    const random = new SeededRandom(7);
    for (let i = 0; i < 300; i++) {
      const doc = randomJson(random);
      assert.equal(run(JSON.stringify(doc)), 'complete', JSON.stringify(doc));
      assert.equal(run(spaced(doc)), 'complete', spaced(doc));
      const pretty = JSON.stringify(doc, null, 2);
      if (pretty !== JSON.stringify(doc)) assert.equal(run(pretty), 'rejected', pretty);
    }
  });

  it('allows whitespace only as one space after : and ,', () => {
    for (const padded of [
      ' {}',
      '{ }',
      '{ "a":1}',
      '{"a" :1}',
      '{"a":  1}',
      '{"a":1 }',
      '[ 1]',
      '[1 ,2]',
      '[1,  2]',
    ])
      assert.equal(run(padded), 'rejected', padded);
    for (const text of ['{"a": 1, "b": [1, 2]}', '{"a":1,"b":[1,2]}', '"  spaces inside strings  "'])
      assert.equal(run(text), 'complete', text);
  });

  it('agrees with JSON.parse on mutated documents: complete only when it parses', () => {
    const random = new SeededRandom(11);
    const alphabet = '{}[]",:0123456789.-+eEtrufalsn \\u';
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const text = [...JSON.stringify(randomJson(random))];
      const at = Math.floor(random.next() * (text.length + 1));
      const edit = Math.floor(random.next() * 3);
      const ch = alphabet[Math.floor(random.next() * alphabet.length)]!;
      if (edit === 0) text.splice(at, 1);
      else if (edit === 1) text.splice(at, 0, ch);
      else text[at] = ch;
      const mutated = text.join('');
      const verdict = run(mutated);
      // Duplicate keys parse in JSON.parse but are refused on purpose: a generated object never repeats one.
      const duplicateKey = (mutated.match(/"k\d":/g) ?? []).length !== new Set(mutated.match(/"k\d":/g)).size;
      const ok = parses(mutated) && compactSpacing(mutated) && !duplicateKey;
      if (verdict === 'complete') assert.ok(parses(mutated), `accepted invalid ${mutated}`);
      if (ok) assert.equal(verdict, 'complete', `refused valid ${mutated}`);
      if (verdict === 'rejected') rejected++;
    }
    assert.ok(rejected > 500, 'mutations are caught early, byte by byte');
  });

  it('rejects the classic mistakes at the first bad byte', () => {
    for (const bad of [
      '{"a":1,}',
      '[1,]',
      '01',
      '{"a" 1}',
      '"tab\there"',
      'tru!',
      '{} {}',
      '[1 2]',
      '-',
      '1.e5',
      '"\\x"',
    ])
      assert.notEqual(run(bad), 'complete', bad);
    assert.equal(run('{"a": [1, 2'), 'prefix');
    assert.equal(run(' '.repeat(30) + '{}'), 'rejected', 'endless whitespace is cut off');
  });
});

describe('JSON schema constraint', () => {
  const schema = compileSchema({
    type: 'object',
    properties: {
      colour: { enum: ['red', 'green'] },
      count: { type: 'integer' },
      tags: { type: 'array', items: { type: 'string' }, maxItems: 2 },
      note: { type: ['string', 'null'] },
    },
    required: ['colour', 'count'],
  });

  it('accepts documents of the schema in any key order', () => {
    assert.equal(run('{"colour": "red", "count": 3}', schema), 'complete');
    assert.equal(run('{"count":-12,"tags":["a","b"],"colour":"green","note":null}', schema), 'complete');
    assert.equal(run('{"note": "x", "colour": "red", "count": 0}', schema), 'complete');
  });

  it('refuses what the schema rules out', () => {
    for (const bad of [
      '{"colour": "blue"',
      '{"count": 1.5',
      '{"count": 1}',
      '{"colour": "red", "count": 1, "extra"',
      '{"colour": "red", "colour"',
      '{"tags": ["a", "b", "c"',
      '{"note": 5',
      '[',
    ])
      assert.equal(run(bad, schema), 'rejected', bad);
  });

  it('follows $refs, const and anyOf', () => {
    const refd = compileSchema({
      $defs: { point: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] } },
      anyOf: [{ $ref: '#/$defs/point' }, { const: 'none' }],
    });
    assert.equal(run('{"x": 1.5}', refd), 'complete');
    assert.equal(run('"none"', refd), 'complete');
    assert.equal(run('"some"', refd), 'rejected');
  });

  it('limits whole tokens of the real vocabulary and allows EOS only at the end', () => {
    const tokenizer = bundledTokenizer();
    const constraint = new JsonConstraint(tokenizer, ANY_OBJECT);
    const ids = tokenizer.encode('{"a": [1, true]}');
    assert.equal(constraint.allows(SpecialId.EOS), false);
    assert.equal(constraint.allows(tokenizer.encode('hello')[0]!), false);
    for (const id of ids) {
      assert.ok(constraint.allows(id), `token ${id}`);
      assert.equal(constraint.allows(SpecialId.EOS), false);
      constraint.accept(id);
    }
    assert.equal(constraint.allows(SpecialId.EOS), true);
    assert.equal(constraint.allows(tokenizer.encode(' ')[0]!), false, 'nothing after the document');
  });
});

describe('the supported JSON-Schema subset', () => {
  const verdicts = (schema: unknown, texts: Record<string, 'complete' | 'prefix' | 'rejected'>) => {
    const compiled = compileSchema(schema);
    for (const [text, verdict] of Object.entries(texts)) assert.equal(run(text, compiled), verdict, text);
  };

  it('counts string lengths in characters: escapes and multi-byte UTF-8 are one each', () => {
    verdicts(
      { type: 'string', minLength: 2, maxLength: 3 },
      {
        '"ab"': 'complete',
        '"a"': 'rejected',
        '"abcd': 'rejected',
        '"日本語"': 'complete',
        '"日本語日': 'rejected',
        '"😀😀"': 'complete',
        '"\\n\\t"': 'complete',
        '"\\u00e9ab"': 'complete',
        '"\\u00e9ab\\n': 'rejected',
        '"ab': 'prefix',
      },
    );
  });

  it('keeps string bytes well-formed UTF-8 and refuses surrogate escapes', () => {
    const machine = (bytes: number[]) =>
      JsonMachine.start(compileSchema({ type: 'string' })).pushBytes(Uint8Array.from(bytes));
    assert.equal(machine([0x22, 0xc3, 0xa9, 0x22]), true, 'é');
    assert.equal(machine([0x22, 0xc3]), true, 'a character split across tokens');
    assert.equal(machine([0x22, 0x80]), false, 'a stray continuation byte');
    assert.equal(machine([0x22, 0xc0, 0x80]), false, 'an overlong form');
    assert.equal(machine([0x22, 0xed, 0xa0, 0x80]), false, 'a UTF-8 surrogate');
    assert.equal(machine([0x22, 0xc3, 0x41]), false, 'a lead byte without continuation');
    assert.equal(run('"\\ud83d\\ude00"', compileSchema({ type: 'string' })), 'rejected');
    assert.equal(run('"\\uD7ff"', compileSchema({ type: 'string' })), 'complete');
  });

  it('holds integers to minimum/maximum digit by digit', () => {
    verdicts(
      { type: 'integer', minimum: -5, maximum: 120 },
      {
        '120': 'complete',
        '121': 'rejected',
        '1200': 'rejected',
        '-5': 'complete',
        '-6': 'rejected',
        '-': 'prefix',
        '0': 'complete',
        '12': 'complete',
        '-50': 'rejected',
      },
    );
    verdicts(
      { type: 'integer', minimum: 10 },
      { '1': 'prefix', '9': 'prefix', '10': 'complete', '-': 'rejected', '0': 'rejected' },
    );
    verdicts(
      { type: 'integer', maximum: -3 },
      { '0': 'rejected', '-2': 'prefix', '-3': 'complete', '3': 'rejected' },
    );
    verdicts(
      { type: 'integer', minimum: 2.5, maximum: 3.5 },
      { '3': 'complete', '2': 'rejected', '4': 'rejected' },
    );
  });

  it('writes format date, date-time and email as fixed patterns', () => {
    verdicts(
      { type: 'string', format: 'date' },
      {
        '"2024-02-28"': 'complete',
        '"2024-13-01"': 'rejected',
        '"2024-02-30"': 'rejected',
        '"2024-1': 'prefix',
      },
    );
    verdicts(
      { type: 'string', format: 'date-time' },
      { '"2024-01-05T23:59:59Z"': 'complete', '"2024-01-05T24': 'rejected', '"2024-01-05"': 'rejected' },
    );
    verdicts(
      { type: 'string', format: 'email' },
      {
        '"a.b@example.com"': 'complete',
        '"x@y.co"': 'complete',
        '"@x"': 'rejected',
        '"a@b"': 'rejected',
        '"a..b': 'rejected',
      },
    );
  });

  it('follows $defs refs (with JSON-pointer escapes), lists of types and enums of any JSON', () => {
    verdicts(
      {
        $defs: { 'a/b': { type: 'integer', maximum: 3 } },
        type: 'array',
        items: { $ref: '#/$defs/a~1b' },
        maxItems: 2,
      },
      { '[1, 3]': 'complete', '[4]': 'rejected', '[1, 2, 3]': 'rejected' },
    );
    verdicts(
      { type: ['integer', 'null'], maximum: 9 },
      { null: 'complete', '9': 'complete', '10': 'rejected' },
    );
    verdicts(
      { enum: [{ a: 1 }, [1, 2], 'x'] },
      { '{"a":1}': 'complete', '[1,2]': 'complete', '"x"': 'complete', '[1, 2]': 'rejected' },
    );
  });

  it('refuses every other keyword, naming it and where it is; ignores annotations', () => {
    const refused: [unknown, string, string][] = [
      [{ type: 'string', pattern: '^a' }, 'pattern', '#'],
      [
        { type: 'object', properties: { n: { type: 'number', exclusiveMinimum: 0 } } },
        'exclusiveMinimum',
        '#/properties/n',
      ],
      [{ allOf: [{ type: 'string' }] }, 'allOf', '#'],
      [{ type: 'array', items: { not: { type: 'null' } } }, 'not', '#/items'],
      [{ type: 'object', patternProperties: {} }, 'patternProperties', '#'],
      [{ anyOf: [{ type: 'string' }, { type: 'string', format: 'uri' }] }, 'format', '#/anyOf/1'],
      [{ type: 'number', minimum: 0 }, 'minimum', '#'],
      [{ type: 'string', format: 'date', maxLength: 5 }, 'maxLength', '#'],
      [
        { $defs: { x: { type: 'string', uniqueItems: true } }, $ref: '#/$defs/x' },
        'uniqueItems',
        '#/$defs/x',
      ],
    ];
    for (const [schema, keyword, path] of refused)
      assert.throws(
        () => compileSchema(schema),
        (err: SchemaError) =>
          err instanceof SchemaError &&
          err.keyword === keyword &&
          err.path === path &&
          err.message.includes(`"${keyword}"`),
        JSON.stringify(schema),
      );
    const annotated = {
      title: 'T',
      description: 'd',
      $schema: 'x',
      $id: 'y',
      $comment: 'c',
      examples: [1],
      default: 1,
      type: 'integer',
    };
    assert.equal(run('7', compileSchema(annotated)), 'complete');
  });
});

describe('closing a document early', () => {
  const cases: [object, unknown][] = [
    [
      {
        type: 'object',
        properties: {
          name: { type: 'string', minLength: 3 },
          when: { type: 'string', format: 'date-time' },
          tags: { type: 'array', items: { enum: ['x', 'yz'] }, minItems: 2, maxItems: 4 },
          n: { type: 'integer', minimum: 100, maximum: 250 },
          contact: {
            type: 'object',
            properties: { mail: { type: 'string', format: 'email' } },
            required: ['mail'],
          },
        },
        required: ['name', 'tags', 'n', 'contact'],
      },
      {
        tags: ['yz', 'x', 'x'],
        name: 'héllo "wörld" 😀',
        n: 199,
        when: '2024-11-05T10:20:30Z',
        contact: { mail: 'a.b@c.de' },
      },
    ],
    [{ type: 'array', items: { type: 'integer', maximum: -7 }, minItems: 3 }, [-8, -1234, -7, -99]],
    [
      {
        anyOf: [
          { type: 'string', minLength: 2 },
          { type: 'object', properties: { a: { type: 'null' } }, required: ['a'] },
        ],
      },
      { a: null },
    ],
    [
      { type: 'object', additionalProperties: { type: 'number' }, required: ['k'] },
      { '': 1.5e-3, 'q\u00e9\n': -2, k: 0 },
    ],
  ];

  it('the shortest completion from every prefix of a valid document gives a valid document', () => {
    for (const [schema, doc] of cases) {
      const valid = validator(schema);
      assert.equal(valid(doc), null, 'the sample document is valid');
      const compiled = compileSchema(schema);
      for (const text of [JSON.stringify(doc), spaced(doc)]) {
        const bytes = utf8.encode(text);
        for (let i = 0; i <= bytes.length; i++) {
          const machine = JsonMachine.start(compiled);
          assert.ok(machine.pushBytes(bytes.subarray(0, i)));
          const completion = machine.completion();
          assert.ok(machine.pushBytes(completion) && machine.complete, `${text.slice(0, i)} + completion`);
          const closed = new TextDecoder().decode(Uint8Array.from([...bytes.subarray(0, i), ...completion]));
          assert.equal(valid(JSON.parse(closed)), null, closed);
        }
      }
    }
  });

  it('turns the completion into the fewest tokens, which the constraint accepts', () => {
    const tokenizer = bundledTokenizer();
    const [schema, doc] = cases[0]!;
    const text = utf8.encode(JSON.stringify(doc));
    for (const cut of [1, 9, 20, 37, text.length - 3]) {
      const constraint = new JsonConstraint(tokenizer, compileSchema(schema));
      // Feed the prefix as single-byte tokens (every byte is a token), split characters and all.
      for (const b of text.subarray(0, cut))
        constraint.accept(tokenTrie(tokenizer).encode(Uint8Array.of(b))![0]!);
      const closing = constraint.closingTokens()!;
      assert.ok(closing.length > 0 && closing.length <= constraint.completionBytes().length);
      for (const id of closing) {
        assert.ok(constraint.allows(id));
        constraint.accept(id);
      }
      assert.equal(constraint.allows(SpecialId.EOS), true);
    }
  });
});

describe('token masks', () => {
  /** Whether the mask `maskRefused` applies equals testing every token with `allows`. */
  function assertMaskExact(constraint: JsonConstraint, vocabSize: number, what: string) {
    const logits = new Float32Array(vocabSize);
    constraint.maskRefused(logits);
    for (let id = 0; id < vocabSize; id++)
      if ((logits[id] === 0) !== constraint.allows(id))
        assert.fail(`${what}: token ${id} masked ${logits[id] !== 0}, allowed ${constraint.allows(id)}`);
  }

  /** A constraint fed `bytes` one byte-token at a time (so cuts may split characters and escapes). */
  function fedBytes(tokenizer: ReturnType<typeof bundledTokenizer>, node: SchemaNode, bytes: Uint8Array) {
    const constraint = new JsonConstraint(tokenizer, node);
    for (const b of bytes) constraint.accept(tokenTrie(tokenizer).encode(Uint8Array.of(b))![0]!);
    return constraint;
  }

  it('the cached trie-walk mask equals testing every token, and equal state keys share it', () => {
    const tokenizer = bundledTokenizer();
    const schema = compileSchema({
      type: 'object',
      properties: { s: { type: 'string', maxLength: 3 }, n: { type: 'integer', minimum: 5, maximum: 70 } },
      required: ['s'],
    });
    const states: [SchemaNode, string][] = [
      [ANY_OBJECT, '{"a": "x'],
      [ANY_OBJECT, '{"a": 1, "'],
      [schema, '{"s": "é'],
      [schema, '{"n": 6'],
      [schema, '{"s": "ab", '],
    ];
    for (const [node, prefix] of states) {
      const constraint = new JsonConstraint(tokenizer, node);
      for (const id of tokenTrie(tokenizer).encode(utf8.encode(prefix))!) constraint.accept(id);
      const logits = new Float32Array(tokenizer.vocabSize);
      constraint.maskRefused(logits);
      for (let id = 0; id < tokenizer.vocabSize; id++)
        assert.equal(logits[id] === 0, constraint.allows(id), `${prefix} token ${id}`);
    }
    const cache = maskCache(tokenizer);
    const before = cache.misses;
    const again = new JsonConstraint(tokenizer, ANY_OBJECT);
    for (const id of tokenTrie(tokenizer).encode(utf8.encode('{"b": "yz'))!) again.accept(id);
    again.maskRefused(new Float32Array(tokenizer.vocabSize));
    assert.equal(cache.misses, before, 'inside a free string under the same key: a cache hit');
  });

  it('equals testing every token at random cuts of random documents (the cache shared across them)', () => {
    const tokenizer = bundledTokenizer();
    const random = new SeededRandom(23);
    const bounded = {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 2, maxLength: 12 },
        tags: { type: 'array', items: { enum: ['x', 'y"z', 'é'] }, maxItems: 3 },
        n: { type: 'integer', minimum: -40, maximum: 1234 },
        v: { type: ['number', 'null'] },
        when: { type: 'string', format: 'date' },
        any: { anyOf: [{ type: 'string', maxLength: 3 }, { type: 'boolean' }] },
      },
      required: ['name', 'n'],
    };
    const boundedDocs = [
      { name: 'h\u00e9"l', tags: ['y"z', 'é'], n: -39, v: 1.5e-3, when: '2024-02-28', any: 'ab' },
      { any: true, n: 1234, name: '日本語テキスト😀', v: null },
      { name: 'ab', n: 0, tags: [] },
    ];
    const cases: [SchemaNode, string][] = [
      ...Array.from({ length: 4 }, (): [SchemaNode, string] => [
        ANY_OBJECT,
        JSON.stringify({ k: randomJson(random, 1), 'é\n': randomJson(random, 1) }),
      ]),
      ...boundedDocs.flatMap((doc): [SchemaNode, string][] => [
        [compileSchema(bounded), JSON.stringify(doc)],
        [compileSchema(bounded), spaced(doc)],
      ]),
    ];
    for (const [node, text] of cases) {
      const bytes = utf8.encode(text);
      for (let k = 0; k < 3; k++) {
        const cut = Math.floor(random.next() * bytes.length);
        const constraint = fedBytes(tokenizer, node, bytes.subarray(0, cut));
        assertMaskExact(constraint, tokenizer.vocabSize, `${text} cut at byte ${cut}`);
      }
    }
  });

  it('a state of a schema compiled again (the next request) hits the cached mask', () => {
    const tokenizer = bundledTokenizer();
    const schema = { type: 'object', properties: { q: { type: 'string', maxLength: 9 } } };
    const prefix = utf8.encode('{"q": "ab');
    fedBytes(tokenizer, compileSchema(schema), prefix).maskRefused(new Float32Array(tokenizer.vocabSize));
    const cache = maskCache(tokenizer);
    const before = cache.misses;
    fedBytes(tokenizer, compileSchema(schema), prefix).maskRefused(new Float32Array(tokenizer.vocabSize));
    assert.equal(cache.misses, before);
  });
});
