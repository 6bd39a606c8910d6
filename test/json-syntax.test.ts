import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonSyntaxError, locateJsonError, parseJsonText } from '../src/checkpoint/json-syntax.js';

describe('parseJsonText', () => {
  it('parses what JSON.parse parses', () => {
    const text = '{"a":[1,2.5e-3,-0,"\\u00e9\\n",true,false,null,{}],"b":{"c":[]}}';
    assert.deepEqual(parseJsonText(text), JSON.parse(text));
    assert.equal(locateJsonError(text), null);
  });

  it('says where and what on one line', () => {
    const cases: [string, string][] = [
      ['{oops', 'line 1, column 2: expected a property name in double quotes'],
      ['{"a": 1,\n"b": x\n, "c": 3}', "line 2, column 6: unexpected 'x'"],
      ['{"a":\n', 'line 2, column 1: unexpected end of file'],
      ['', 'line 1, column 1: unexpected end of file'],
      ['{"a": 1}\n}', "line 2, column 1: unexpected '}' after the JSON value"],
      ['{"a": "b\tc"}', 'line 1, column 9: tab inside a string (write it as an escape)'],
      ['{"a" 1}', "line 1, column 6: expected ':' after a property name"],
      ['[1,\n 2,,\n 3]', "line 2, column 4: unexpected ','"],
      ['[1 2]', "line 1, column 4: expected ',' or ']' after an array element"],
      ['\ufeff{}', 'line 1, column 1: unexpected byte-order mark'],
      ['{"a": "\\x"}', 'line 1, column 8: invalid escape in a string'],
      ['"abc', 'line 1, column 1: unterminated string'],
      ['{"a":1,}', 'line 1, column 8: expected a property name in double quotes'],
    ];
    for (const [text, message] of cases)
      assert.throws(
        () => parseJsonText(text),
        (err: Error) => err instanceof JsonSyntaxError && err.message === message,
        JSON.stringify(text),
      );
  });

  it("falls back to the first clause of V8's message, still one line", () => {
    assert.throws(() => parseJsonText('['.repeat(5000)), { message: 'Unexpected end of JSON input' });
  });
});
