/** pyjson: Python `json.dumps(…, ensure_ascii=False)` / `json.loads` compatibility (expected values from CPython). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PyFloat,
  normalizeJsonContent,
  parsePyJson,
  pyFloatRepr,
  pyJsonDumps,
  tryParsePyJson,
} from '../src/chat/index.js';

describe('pyFloatRepr (Python repr(float))', () => {
  const cases: [number, string][] = [
    [1, '1.0'],
    [0.1, '0.1'],
    [1e-5, '1e-05'],
    [3.3e-5, '3.3e-05'],
    [0.0001, '0.0001'],
    [0.000123, '0.000123'],
    [1e-7, '1e-07'],
    [-1.25e-7, '-1.25e-07'],
    [1e15, '1000000000000000.0'],
    [1e16, '1e+16'],
    [1.2345678901234568e17, '1.2345678901234568e+17'],
    [9007199254740992, '9007199254740992.0'],
    [1e21, '1e+21'],
    [1e22, '1e+22'],
    [1.5e300, '1.5e+300'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [100000, '100000.0'],
    [2.5, '2.5'],
    [1 / 3, '0.3333333333333333'],
    [12345.678, '12345.678'],
    [0, '0.0'],
    [-0, '-0.0'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
  ];
  for (const [x, repr] of cases) it(`${repr}`, () => assert.equal(pyFloatRepr(x), repr));
});

describe('pyJsonDumps', () => {
  it('uses Python separators, insertion order, ints and floats', () => {
    const m = new Map<string, unknown>([
      ['b', 1],
      ['2', [new PyFloat(1), 2, 2.5, 10n ** 30n, true, false, null]],
    ]);
    assert.equal(
      pyJsonDumps({ x: m, e: [], o: {} }),
      '{"x": {"b": 1, "2": [1.0, 2, 2.5, 1000000000000000000000000000000, true, false, null]}, "e": [], "o": {}}',
    );
  });

  it('escapes like ensure_ascii=False: raw non-ASCII, \\u00xx for other controls', () => {
    assert.equal(
      pyJsonDumps('é中😀\u0001\u001f\u007f\u2028"\\/\b\f\n\r\t'),
      '"é中😀\\u0001\\u001f\u007f\u2028\\"\\\\/\\b\\f\\n\\r\\t"',
    );
  });

  it('rejects what json.dumps rejects', () => {
    assert.throws(() => pyJsonDumps(() => 1), TypeError);
    const cyc: unknown[] = [];
    cyc.push(cyc);
    assert.throws(() => pyJsonDumps(cyc), /Circular/);
  });
});

describe('parsePyJson (Python json.loads)', () => {
  it('round-trips to Python bytes (floatness, big ints, -0, NaN, key order, duplicate keys)', () => {
    const text =
      '{"b": 1, "2": [1.0, 1e5, 1E-7, -0, -0.0, 12345678901234567890123, NaN, Infinity, -Infinity, true, null],' +
      ' "a": "\\u00e9\\ud83d\\ude00\\u0001", "b": 2}';
    assert.equal(
      pyJsonDumps(parsePyJson(text)),
      '{"b": 2, "2": [1.0, 100000.0, 1e-07, 0, -0.0, 12345678901234567890123, NaN, Infinity, -Infinity, true, null], "a": "é😀\\u0001"}',
    );
  });

  it('keeps big ints exact and floats boxed', () => {
    assert.equal(parsePyJson('9007199254740993'), 9007199254740993n);
    assert.equal(parsePyJson('42'), 42);
    const f = parsePyJson('1.0');
    assert.ok(f instanceof PyFloat && f.value === 1);
  });

  it('accepts surrounding JSON whitespace only', () => {
    assert.equal(parsePyJson(' \t\r\n1 \n'), 1);
    for (const bad of ['\u00a01', '\ufeff1'])
      assert.equal(tryParsePyJson(bad).ok, false, JSON.stringify(bad));
  });

  it('rejects everything json.loads rejects', () => {
    const bad = [
      '',
      '1.',
      '.5',
      '01',
      '-',
      '1e',
      '1e+',
      '- 1',
      'nan',
      'NAN',
      '[1,]',
      '{"a":1,}',
      "'a'",
      '"a\tb"',
      '"\\x"',
      '"\\u12"',
      '1 2',
      'true false',
      '{"a" 1}',
      '[1 2]',
      '{1: 2}',
      '"abc',
      '[',
      'tru',
    ];
    for (const s of bad) assert.equal(tryParsePyJson(s).ok, false, JSON.stringify(s));
  });
});

describe('normalizeJsonContent (mistral-common _normalize_json_content)', () => {
  it('empty → {}, JSON → Python dumps, other text unchanged', () => {
    assert.equal(normalizeJsonContent(''), '{}');
    assert.equal(normalizeJsonContent(null), '{}');
    assert.equal(normalizeJsonContent('{"a":1.0,"b":[1e3]}'), '{"a": 1.0, "b": [1000.0]}');
    assert.equal(normalizeJsonContent(' 42 '), '42');
    assert.equal(normalizeJsonContent('"hi"'), '"hi"');
    assert.equal(normalizeJsonContent('sunny, 18°C'), 'sunny, 18°C');
    assert.equal(normalizeJsonContent('{"a": 1,}'), '{"a": 1,}');
  });
});
