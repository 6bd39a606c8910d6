/**
 * "pyjson": byte-exact Python `json.dumps(obj, ensure_ascii=False)` (spec §8.7).
 *
 * mistral-common serialises tools, tool calls and tool results with Python's json module, and the model was
 * trained on exactly those bytes, so `JSON.stringify` is not good enough: Python writes `", "` / `": "`
 * separators, keeps `1.0` a float, spells exponents `1e-05` / `1e+16`, writes `NaN` / `Infinity`, and keeps
 * dict keys in insertion order (a JS object would move integer-like keys such as `"2"` to the front).
 *
 * Values: `null`, booleans, strings, `number` (an integral number is a Python int, any other a float),
 * `bigint` (int), {@link PyFloat} (a float even when integral — what the parser returns for `1.0` or `1e5`),
 * arrays, `Map<string, …>` (what the parser returns for objects: exact Python dict order) and plain objects.
 */

import { PyFloat, pyFloatRepr } from './pyfloat.js';

export { PyFloat, pyFloatRepr, type JsonValue } from './pyfloat.js';

// Python's ESCAPE_DCT: the five short escapes, `"` and `\`, every other C0 control as lowercase \u00xx.
// Nothing else is escaped with ensure_ascii=False (not DEL, not U+2028, not lone surrogates).
const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** A Python `json.dumps(s, ensure_ascii=False)` string literal. */
export function pyJsonString(s: string): string {
  // eslint-disable-next-line no-control-regex
  const body = s.replace(/[\u0000-\u001f"\\]/g, (c) => {
    return SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return `"${body}"`;
}

function pyNumber(x: number): string {
  // A plain JS number carries no int/float flag; integral values are taken as Python ints (what a request
  // parsed with JSON.parse most likely meant). Parse with `parsePyJson` to keep `1.0` a float.
  if (Number.isInteger(x)) return BigInt(x).toString();
  return pyFloatRepr(x);
}

/** Python `json.dumps(value, ensure_ascii=False)`. Throws `TypeError` for values JSON cannot hold. */
export function pyJsonDumps(value: unknown): string {
  const seen = new Set<object>();
  const dump = (v: unknown): string => {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'boolean':
        return v ? 'true' : 'false';
      case 'string':
        return pyJsonString(v);
      case 'number':
        return pyNumber(v);
      case 'bigint':
        return v.toString();
      case 'object':
        break;
      default:
        throw new TypeError(`Object of type ${typeof v} is not JSON serializable`);
    }
    if (v instanceof PyFloat) return pyFloatRepr(v.value);
    // Python's check_circular: a cycle is an error, not infinite output.
    if (seen.has(v as object)) throw new TypeError('Circular reference detected');
    seen.add(v as object);
    let out: string;
    if (Array.isArray(v)) {
      out = `[${v.map(dump).join(', ')}]`;
    } else {
      const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
      const parts: string[] = [];
      for (const [k, item] of entries) {
        if (typeof k !== 'string') throw new TypeError('keys must be str');
        if (item === undefined) continue; // an absent optional field, as JSON.stringify treats it
        parts.push(`${pyJsonString(k)}: ${dump(item)}`);
      }
      out = `{${parts.join(', ')}}`;
    }
    seen.delete(v as object);
    return out;
  };
  return dump(value);
}

export { parsePyJson, tryParsePyJson, PyJsonParseError } from './pyjson-parse.js';
