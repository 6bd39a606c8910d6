/**
 * Validation issues shaped like FastAPI/Pydantic 422 `detail` entries (`{loc, msg, type}`), which is what
 * hosted Mistral returns, plus the small helpers the validators share to read a body that is either plain
 * objects (`JSON.parse`) or `Map`s (`parsePyJson`).
 */
import { PyFloat } from './pyfloat.js';

export type Loc = (string | number)[];

export interface ValidationIssue {
  /** Path into the request, starting with `'body'`, e.g. `['body', 'messages', 2, 'content']`. */
  loc: Loc;
  msg: string;
  /** Pydantic error type (`missing`, `string_type`, `string_pattern_mismatch`, `value_error`, …). */
  type: string;
}

/** The 422 body Mistral's API returns for a request it rejects. */
export interface ValidationErrorBody {
  object: 'error';
  message: string;
  type: 'invalid_request_error';
  param: null;
  code: null;
  detail: ValidationIssue[];
}

export class ChatValidationError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super(summarise(issues));
    this.name = 'ChatValidationError';
  }

  /** The HTTP 422 response body. */
  toResponseBody(): ValidationErrorBody {
    return {
      object: 'error',
      message: this.message,
      type: 'invalid_request_error',
      param: null,
      code: null,
      detail: this.issues,
    };
  }
}

function summarise(issues: ValidationIssue[]): string {
  const first = issues.slice(0, 3).map((i) => `${i.loc.join('.')}: ${i.msg}`);
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return `Invalid chat request: ${first.join('; ')}${more}`;
}

/** Collects issues; every validator appends to one of these and the caller throws once at the end. */
export class Issues {
  readonly list: ValidationIssue[] = [];
  add(loc: Loc, msg: string, type: string): void {
    this.list.push({ loc: [...loc], msg, type });
  }
  missing(loc: Loc): void {
    this.add(loc, 'Field required', 'missing');
  }
  valueError(loc: Loc, msg: string): void {
    this.add(loc, `Value error, ${msg}`, 'value_error');
  }
  get count(): number {
    return this.list.length;
  }
}

export type Obj = Map<string, unknown> | Record<string, unknown>;

/** A JSON object (plain object or parsed `Map`), not an array, not null, not a boxed float. */
export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof PyFloat);
}

/** Own field of a JSON object; `undefined` when absent (`null` stays `null`). */
export function field(o: Obj, key: string): unknown {
  if (o instanceof Map) return o.get(key);
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

/** A JSON number (plain, boxed float or big int) as a JS number; `undefined` when not a number. */
export function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v instanceof PyFloat) return v.value;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

export function isInt(v: unknown): boolean {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
}

/** `value` must be a string; records a Pydantic `string_type` issue otherwise. */
export function expectString(v: unknown, loc: Loc, issues: Issues): v is string {
  if (typeof v === 'string') return true;
  if (v === undefined) issues.missing(loc);
  else issues.add(loc, 'Input should be a valid string', 'string_type');
  return false;
}

export function expectObj(v: unknown, loc: Loc, issues: Issues): v is Obj {
  if (isObj(v)) return true;
  if (v === undefined) issues.missing(loc);
  else issues.add(loc, 'Input should be a valid dictionary', 'dict_type');
  return false;
}

export function expectList(v: unknown, loc: Loc, issues: Issues): v is unknown[] {
  if (Array.isArray(v)) return true;
  if (v === undefined) issues.missing(loc);
  else issues.add(loc, 'Input should be a valid list', 'list_type');
  return false;
}

/** Optional boolean field: absent/`null` → `undefined`. */
export function optionalBool(o: Obj, key: string, loc: Loc, issues: Issues): boolean | undefined {
  const v = field(o, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  issues.add([...loc, key], 'Input should be a valid boolean', 'bool_type');
  return undefined;
}

export function checkPattern(s: string, pattern: RegExp, loc: Loc, issues: Issues): boolean {
  if (pattern.test(s)) return true;
  issues.add(loc, `String should match pattern '${pattern.source}'`, 'string_pattern_mismatch');
  return false;
}

/** Function / tool names (mistral-common validator). */
export const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
/** Instruct v3 tool-call ids (mistral-common `MistralRequestValidatorV3`). */
export const TOOL_CALL_ID = /^[a-zA-Z0-9]{9}$/;
