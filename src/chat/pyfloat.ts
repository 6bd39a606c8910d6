/**
 * Python floats and the JSON value type shared by the pyjson serialiser and parser (kept apart from both so
 * that neither module has to import the other at load time).
 */

/** A JSON value as the chat module carries it; objects are `Map`s (parsed) or plain objects (built in code). */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | JsonValue[]
  | Map<string, JsonValue>
  | { [key: string]: JsonValue };

/** A Python float. Needed because `1.0` parsed into a JS number is indistinguishable from the int `1`. */
export class PyFloat {
  constructor(readonly value: number) {}
  /** Python `repr(float)`. */
  toString(): string {
    return pyFloatRepr(this.value);
  }
  valueOf(): number {
    return this.value;
  }
}

/**
 * Python `float.__repr__` as `json.dumps` writes it: the shortest digits that round-trip (the same digits JS
 * `String(x)` picks), laid out with Python's 'r' rules — scientific when the decimal exponent is < -4 or
 * >= 16, mantissa without `.0` there, exponent signed and at least two digits; otherwise positional with `.0`.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // Decompose JS's shortest representation into a digit string and a decimal-point position
  // (value = 0.DIGITS × 10^decpt, as in David Gay's dtoa that CPython uses).
  const js = String(Math.abs(x));
  const ePos = js.indexOf('e');
  const mantissa = ePos >= 0 ? js.slice(0, ePos) : js;
  const exp10 = ePos >= 0 ? Number(js.slice(ePos + 1)) : 0;
  const dot = mantissa.indexOf('.');
  const intPart = dot >= 0 ? mantissa.slice(0, dot) : mantissa;
  let digits = intPart + (dot >= 0 ? mantissa.slice(dot + 1) : '');
  let decpt = intPart.length + exp10;
  const leadingZeros = /^0*/.exec(digits)![0].length;
  digits = digits.slice(leadingZeros).replace(/0+$/, '');
  decpt -= leadingZeros;

  if (decpt <= -4 || decpt > 16) {
    const e = decpt - 1;
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** A parsed-with-parsePyJson value as plain JSON (Maps → objects, boxed floats → numbers). */
export function toPlainJson(value: unknown): unknown {
  if (value instanceof PyFloat) return value.value;
  if (Array.isArray(value)) return value.map(toPlainJson);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, toPlainJson(v)]));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlainJson(v)]));
  return value;
}
