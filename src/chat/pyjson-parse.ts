/**
 * A JSON parser that accepts exactly what Python's `json.loads` (C scanner, strict=True) accepts and keeps
 * what Python keeps, so that "parse it as JSON if possible, then re-serialise" (mistral-common's tool-call
 * arguments and tool results, spec §8.5 step 3) gives Python's bytes:
 *
 * - numbers with a fraction or exponent become {@link PyFloat} (`1.0` → `1.0`, `1e5` → `100000.0`);
 *   integers stay `number` when safe, else exact `bigint`; `-0` is the int `0`;
 * - objects become `Map`s (insertion order, a duplicate key keeps its first position and its last value,
 *   exactly like a Python dict);
 * - `NaN`, `Infinity`, `-Infinity` are accepted (Python's default); a BOM, control characters inside
 *   strings, trailing commas, leading zeros, `1.`, `.5`, single quotes are rejected.
 */
import { PyFloat, type JsonValue } from './pyfloat.js';

export class PyJsonParseError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(`${message}: char ${pos}`);
    this.name = 'PyJsonParseError';
  }
}

// Python: NUMBER_RE = (-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)? with ASCII digits (C scanner).
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const WS = /[ \t\n\r]*/y;
// eslint-disable-next-line no-control-regex
const PLAIN = /[^"\\\u0000-\u001f]+/y;
// Python's recursion limit would stop far deeper input with RecursionError; this keeps JS's stack safe.
const MAX_DEPTH = 10_000;
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class Parser {
  pos = 0;
  constructor(private readonly s: string) {}

  fail(msg: string, pos = this.pos): never {
    throw new PyJsonParseError(msg, pos);
  }

  ws(): void {
    WS.lastIndex = this.pos;
    WS.exec(this.s);
    this.pos = WS.lastIndex;
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail('Nesting too deep');
    const s = this.s;
    const c = s[this.pos];
    if (c === '"') return this.string();
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    for (const [word, v] of LITERALS) {
      if (s.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v instanceof PyFloat ? new PyFloat(v.value) : v;
      }
    }
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(s);
    if (!m) this.fail('Expecting value');
    this.pos = NUMBER.lastIndex;
    if (m[1] !== undefined || m[2] !== undefined) return new PyFloat(Number(m[0]));
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n + 0 /* -0 → 0 */ : BigInt(m[0]);
  }

  string(): string {
    const s = this.s;
    const start = this.pos;
    let out = '';
    let i = this.pos + 1;
    for (;;) {
      if (i >= s.length) this.fail('Unterminated string starting at', start);
      const ch = s.charCodeAt(i);
      if (ch === 0x22) break;
      if (ch < 0x20) this.fail('Invalid control character at', i);
      if (ch !== 0x5c) {
        // Copy the whole run of plain characters at once (request bodies carry multi-MB data URIs).
        PLAIN.lastIndex = i;
        PLAIN.exec(s);
        out += s.slice(i, PLAIN.lastIndex);
        i = PLAIN.lastIndex;
        continue;
      }
      const e = s[i + 1];
      if (e === 'u') {
        const hex = s.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('Invalid \\uXXXX escape', i + 1);
        // Surrogate halves are kept as UTF-16 code units: a valid pair forms the character, as in Python.
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
      } else if (e !== undefined && e in ESCAPES) {
        out += ESCAPES[e];
        i += 2;
      } else {
        this.fail('Invalid \\escape', i);
      }
    }
    this.pos = i + 1;
    return out;
  }

  object(depth: number): Map<string, JsonValue> {
    const map = new Map<string, JsonValue>();
    this.pos++;
    this.ws();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return map;
    }
    for (;;) {
      if (this.s[this.pos] !== '"') this.fail('Expecting property name enclosed in double quotes');
      const key = this.string();
      this.ws();
      if (this.s[this.pos] !== ':') this.fail("Expecting ':' delimiter");
      this.pos++;
      this.ws();
      map.set(key, this.value(depth + 1));
      this.ws();
      const c = this.s[this.pos++];
      if (c === '}') return map;
      if (c !== ',') this.fail("Expecting ',' delimiter", this.pos - 1);
      this.ws();
    }
  }

  array(depth: number): JsonValue[] {
    const list: JsonValue[] = [];
    this.pos++;
    this.ws();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return list;
    }
    for (;;) {
      list.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.pos++];
      if (c === ']') return list;
      if (c !== ',') this.fail("Expecting ',' delimiter", this.pos - 1);
      this.ws();
    }
  }
}

const LITERALS: ReadonlyArray<readonly [string, JsonValue]> = [
  ['null', null],
  ['true', true],
  ['false', false],
  ['NaN', new PyFloat(NaN)],
  ['Infinity', new PyFloat(Infinity)],
  ['-Infinity', new PyFloat(-Infinity)],
];

/** Python `json.loads(text)`; throws {@link PyJsonParseError} where Python raises `JSONDecodeError`. */
export function parsePyJson(text: string): JsonValue {
  const p = new Parser(text);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.pos !== text.length) p.fail('Extra data');
  return v;
}

/** `json.loads` that reports failure instead of throwing (mistral-common's "parse if possible"). */
export function tryParsePyJson(text: string): { ok: true; value: JsonValue } | { ok: false } {
  try {
    return { ok: true, value: parsePyJson(text) };
  } catch (e) {
    if (e instanceof PyJsonParseError) return { ok: false };
    throw e;
  }
}
