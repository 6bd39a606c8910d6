/**
 * Field-level validation of one chat message (its shape and types), turning an untrusted JSON value into a
 * typed {@link ChatMessage}. Conversation-level rules (order, tool-call pairing, last message) are in
 * `validate-structure.ts`.
 */
import type { JsonValue } from './pyfloat.js';
import { pyJsonDumps } from './pyjson.js';
import type { ChatMessage, ImageUrl, Role, TextPart, ToolCall, UserContentPart } from './types.js';
import {
  FUNCTION_NAME,
  Issues,
  type Loc,
  TOOL_CALL_ID,
  checkPattern,
  expectList,
  expectObj,
  expectString,
  field,
  isObj,
  optionalBool,
  type Obj,
} from './validation-error.js';

const ROLES: readonly Role[] = ['system', 'user', 'assistant', 'tool'];

function tagError(issues: Issues, loc: Loc, tag: unknown, by: string, expected: readonly string[]): void {
  const list = expected.map((t) => `'${t}'`).join(', ');
  let shown: string;
  try {
    shown = typeof tag === 'string' ? tag : pyJsonDumps(tag);
  } catch {
    shown = String(tag); // not JSON at all (a body built in code)
  }
  issues.add(
    loc,
    `Input tag '${shown}' found using '${by}' does not match any of the expected tags: ${list}`,
    'union_tag_invalid',
  );
}

function imageUrl(v: unknown, loc: Loc, issues: Issues): ImageUrl | undefined {
  if (typeof v === 'string') return v;
  if (isObj(v)) {
    const url = field(v, 'url');
    const detail = field(v, 'detail');
    let ok = expectString(url, [...loc, 'url'], issues);
    if (detail !== undefined && detail !== null && typeof detail !== 'string') {
      issues.add([...loc, 'detail'], 'Input should be a valid string', 'string_type');
      ok = false;
    }
    if (!ok) return undefined;
    return detail === undefined
      ? { url: url as string }
      : { url: url as string, detail: detail as string | null };
  }
  if (v === undefined) issues.missing(loc);
  else issues.add(loc, 'Input should be a valid string or an object with a string `url`', 'string_type');
  return undefined;
}

/** A list of content parts; `image_url` parts only where `images` (user messages). */
function parts(v: unknown[], loc: Loc, issues: Issues, images: boolean): UserContentPart[] {
  const out: UserContentPart[] = [];
  const tags = images ? ['text', 'image_url'] : ['text'];
  v.forEach((p, j) => {
    const at = [...loc, j];
    if (!expectObj(p, at, issues)) return;
    const type = field(p, 'type');
    if (type === 'text') {
      const text = field(p, 'text');
      if (expectString(text, [...at, 'text'], issues)) out.push({ type: 'text', text });
    } else if (type === 'image_url' && images) {
      const url = imageUrl(field(p, 'image_url'), [...at, 'image_url'], issues);
      if (url !== undefined) out.push({ type: 'image_url', image_url: url });
    } else if (type === undefined) {
      issues.missing([...at, 'type']);
    } else {
      tagError(issues, [...at, 'type'], type, 'type', tags);
    }
  });
  return out;
}

/** `content`: a string or a list of parts. `null` is allowed only where `nullable` (assistant). */
function content(
  o: Obj,
  loc: Loc,
  issues: Issues,
  opts: { images: boolean; nullable: boolean; nullMsg?: string },
): string | UserContentPart[] | null | undefined {
  const at = [...loc, 'content'];
  const v = field(o, 'content');
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return parts(v, at, issues, opts.images);
  if ((v === null || v === undefined) && opts.nullable) return null;
  if (v === undefined) issues.missing(at);
  else if (v === null && opts.nullMsg) issues.valueError(at, opts.nullMsg);
  else issues.add(at, 'Input should be a valid string or a list of content chunks', 'string_type');
  return undefined;
}

function toolCall(v: unknown, loc: Loc, issues: Issues): ToolCall | undefined {
  if (!expectObj(v, loc, issues)) return undefined;
  const before = issues.count;
  const call: ToolCall = { function: { name: '', arguments: '' } };
  const id = field(v, 'id');
  // Absent / null / "null" all mean "no id" (Mistral's SDK sends the string "null").
  if (id !== undefined && id !== null && expectString(id, [...loc, 'id'], issues)) {
    if (id !== 'null') checkPattern(id, TOOL_CALL_ID, [...loc, 'id'], issues);
    call.id = id;
  }
  const type = field(v, 'type');
  if (type !== undefined && type !== null && type !== 'function') {
    issues.add([...loc, 'type'], "Input should be 'function'", 'enum');
  }
  const fn = field(v, 'function');
  if (expectObj(fn, [...loc, 'function'], issues)) {
    const name = field(fn, 'name');
    if (expectString(name, [...loc, 'function', 'name'], issues)) {
      checkPattern(name, FUNCTION_NAME, [...loc, 'function', 'name'], issues);
      call.function.name = name;
    }
    const args = field(fn, 'arguments');
    if (typeof args === 'string' || isObj(args)) call.function.arguments = args as string | JsonValue;
    else if (args === null)
      call.function.arguments = '{}'; // mistral-common: None → "{}"
    else if (args === undefined) issues.missing([...loc, 'function', 'arguments']);
    else
      issues.add(
        [...loc, 'function', 'arguments'],
        'Input should be a valid string or object',
        'string_type',
      );
  }
  return issues.count === before ? call : undefined;
}

/** Validates one message; returns it typed, or `undefined` after recording at least one issue. */
export function validateMessage(raw: unknown, loc: Loc, issues: Issues): ChatMessage | undefined {
  if (!expectObj(raw, loc, issues)) return undefined;
  const before = issues.count;
  const role = field(raw, 'role');
  if (role === undefined) {
    issues.missing([...loc, 'role']);
    return undefined;
  }
  if (!ROLES.includes(role as Role)) {
    tagError(issues, [...loc, 'role'], role, 'role', ROLES);
    return undefined;
  }
  let msg: ChatMessage | undefined;
  switch (role as Role) {
    case 'system': {
      const c = content(raw, loc, issues, {
        images: false,
        nullable: false,
        nullMsg: 'System prompt must have content',
      });
      if (c !== undefined && c !== null) msg = { role: 'system', content: c as string | TextPart[] };
      break;
    }
    case 'user': {
      const c = content(raw, loc, issues, { images: true, nullable: false });
      if (c !== undefined && c !== null) msg = { role: 'user', content: c };
      break;
    }
    case 'assistant': {
      const c = content(raw, loc, issues, { images: false, nullable: true });
      const prefix = optionalBool(raw, 'prefix', loc, issues);
      const rawCalls = field(raw, 'tool_calls');
      let calls: ToolCall[] | null = null;
      if (
        rawCalls !== undefined &&
        rawCalls !== null &&
        expectList(rawCalls, [...loc, 'tool_calls'], issues)
      ) {
        calls = rawCalls
          .map((t, k) => toolCall(t, [...loc, 'tool_calls', k], issues))
          .filter((t) => t !== undefined);
      }
      msg = { role: 'assistant', content: (c ?? null) as string | TextPart[] | null, tool_calls: calls };
      if (prefix !== undefined) msg.prefix = prefix;
      break;
    }
    case 'tool': {
      const c = content(raw, loc, issues, { images: false, nullable: false });
      const id = field(raw, 'tool_call_id');
      // v3 renders `call_id`, so the id is required here and must be a real one (no "null").
      if (expectString(id, [...loc, 'tool_call_id'], issues))
        checkPattern(id, TOOL_CALL_ID, [...loc, 'tool_call_id'], issues);
      const name = field(raw, 'name');
      if (name !== undefined && name !== null && expectString(name, [...loc, 'name'], issues)) {
        checkPattern(name, FUNCTION_NAME, [...loc, 'name'], issues);
      }
      if (c !== undefined && c !== null) {
        msg = { role: 'tool', content: c as string | TextPart[], tool_call_id: id as string };
        if (typeof name === 'string') msg.name = name;
      }
      break;
    }
  }
  return issues.count === before ? msg : undefined;
}
