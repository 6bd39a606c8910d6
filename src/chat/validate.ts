/**
 * `validateChatRequest`: untrusted request body → typed {@link ChatRequest}, or a {@link ChatValidationError}
 * listing every problem with its location (FastAPI/Pydantic 422 `detail` style, e.g.
 * `{loc: ['body', 'messages', 2, 'content'], msg: 'Field required', type: 'missing'}`).
 *
 * Accepts a body from `JSON.parse` or from `parsePyJson` (objects as `Map`s, floats boxed) — the latter keeps
 * tool schemas byte-exact when they are re-serialised into the prompt. Unknown top-level fields are ignored
 * (OpenAI-style clients send extras such as `user` or `logprobs`).
 */
import type { JsonValue } from './pyfloat.js';
import type { ChatMessage, ChatRequest, Tool, ToolChoice } from './types.js';
import { validateMessage } from './validate-messages.js';
import { validateStructure } from './validate-structure.js';
import {
  ChatValidationError,
  FUNCTION_NAME,
  Issues,
  type Loc,
  asNumber,
  checkPattern,
  expectList,
  expectObj,
  expectString,
  field,
  isInt,
  isObj,
  optionalBool,
  type Obj,
} from './validation-error.js';

function validateTool(raw: unknown, loc: Loc, issues: Issues): Tool | undefined {
  if (!expectObj(raw, loc, issues)) return undefined;
  const before = issues.count;
  const type = field(raw, 'type');
  if (type !== undefined && type !== null && type !== 'function') {
    issues.add([...loc, 'type'], "Input should be 'function'", 'enum');
  }
  const fn = field(raw, 'function');
  if (!expectObj(fn, [...loc, 'function'], issues)) return undefined;
  const at = [...loc, 'function'];
  const name = field(fn, 'name');
  if (expectString(name, [...at, 'name'], issues)) checkPattern(name, FUNCTION_NAME, [...at, 'name'], issues);
  const description = field(fn, 'description');
  if (description !== undefined && description !== null)
    expectString(description, [...at, 'description'], issues);
  const parameters = field(fn, 'parameters');
  if (parameters !== undefined && parameters !== null) expectObj(parameters, [...at, 'parameters'], issues);
  const strict = optionalBool(fn, 'strict', at, issues);
  if (issues.count !== before) return undefined;
  const tool: Tool = { type: 'function', function: { name: name as string } };
  if (typeof description === 'string') tool.function.description = description;
  if (isObj(parameters)) tool.function.parameters = parameters as JsonValue;
  if (strict !== undefined) tool.function.strict = strict;
  return tool;
}

const CHOICES = ['auto', 'none', 'any', 'required'] as const;

function validateToolChoice(v: unknown, loc: Loc, issues: Issues): ToolChoice | undefined {
  if (typeof v === 'string') {
    if ((CHOICES as readonly string[]).includes(v)) return v as ToolChoice;
    issues.add(loc, `Input should be ${CHOICES.map((c) => `'${c}'`).join(', ')} or a named function`, 'enum');
    return undefined;
  }
  if (!expectObj(v, loc, issues)) return undefined;
  const type = field(v, 'type');
  if (type !== undefined && type !== 'function')
    issues.add([...loc, 'type'], "Input should be 'function'", 'enum');
  const fn = field(v, 'function');
  if (!expectObj(fn, [...loc, 'function'], issues)) return undefined;
  const name = field(fn, 'name');
  if (!expectString(name, [...loc, 'function', 'name'], issues)) return undefined;
  return { type: 'function', function: { name } };
}

type NumberRule = { int?: boolean; min?: number; max?: number };

const NUMBER_FIELDS: Record<string, NumberRule> = {
  temperature: { min: 0 },
  top_p: { min: 0, max: 1 },
  max_tokens: { int: true, min: 0 },
  random_seed: { int: true, min: 0 },
  presence_penalty: { min: -2, max: 2 },
  frequency_penalty: { min: -2, max: 2 },
  n: { int: true, min: 1 },
};

function optionalNumber(o: Obj, key: string, rule: NumberRule, issues: Issues): number | null | undefined {
  const v = field(o, key);
  if (v === undefined || v === null) return v as null | undefined;
  const loc = ['body', key];
  const x = asNumber(v);
  if (x === undefined) {
    issues.add(
      loc,
      `Input should be a valid ${rule.int ? 'integer' : 'number'}`,
      rule.int ? 'int_type' : 'float_type',
    );
  } else if (rule.int && !isInt(v) && !Number.isInteger(x)) {
    // Pydantic (lax mode) takes 5.0 for an int field, but not 5.5.
    issues.add(loc, 'Input should be a valid integer, got a number with a fractional part', 'int_from_float');
  } else if (rule.min !== undefined && !(x >= rule.min)) {
    issues.add(loc, `Input should be greater than or equal to ${rule.min}`, 'greater_than_equal');
  } else if (rule.max !== undefined && !(x <= rule.max)) {
    issues.add(loc, `Input should be less than or equal to ${rule.max}`, 'less_than_equal');
  } else {
    return x;
  }
  return undefined;
}

function validateStop(v: unknown, issues: Issues): string | string[] | null | undefined {
  if (v === undefined || v === null || typeof v === 'string') return v;
  if (Array.isArray(v)) {
    v.forEach((s, i) => expectString(s, ['body', 'stop', i], issues));
    return v as string[];
  }
  issues.add(['body', 'stop'], 'Input should be a valid string or list of strings', 'string_type');
  return undefined;
}

/** Validates a chat-completion request body. Throws {@link ChatValidationError} listing every issue. */
export function validateChatRequest(body: unknown): ChatRequest {
  const issues = new Issues();
  const request = readChatRequest(body, issues);
  if (!request || issues.count > 0) throw new ChatValidationError(issues.list);
  return request;
}

/**
 * Reads the chat part of a body, recording every problem in `issues` (so a caller validating more fields
 * reports them all in one 422); the result is only meaningful when no issue was recorded.
 */
export function readChatRequest(body: unknown, issues: Issues): ChatRequest | undefined {
  if (!expectObj(body, ['body'], issues)) return undefined;
  const before = issues.count;

  const req: ChatRequest = { messages: [] };
  const model = field(body, 'model');
  if (model !== undefined && model !== null && expectString(model, ['body', 'model'], issues))
    req.model = model;

  const rawMessages = field(body, 'messages');
  if (expectList(rawMessages, ['body', 'messages'], issues)) {
    if (rawMessages.length === 0) {
      issues.add(
        ['body', 'messages'],
        'List should have at least 1 item after validation, not 0',
        'too_short',
      );
    }
    req.messages = rawMessages
      .map((m, i) => validateMessage(m, ['body', 'messages', i], issues))
      .filter((m): m is ChatMessage => m !== undefined);
  }

  const tools = field(body, 'tools');
  if (tools === null) req.tools = null;
  else if (tools !== undefined && expectList(tools, ['body', 'tools'], issues)) {
    req.tools = tools
      .map((t, i) => validateTool(t, ['body', 'tools', i], issues))
      .filter((t) => t !== undefined);
  }
  const toolChoice = field(body, 'tool_choice');
  if (toolChoice !== undefined && toolChoice !== null) {
    const choice = validateToolChoice(toolChoice, ['body', 'tool_choice'], issues);
    if (choice !== undefined) req.tool_choice = choice;
  }

  for (const [key, rule] of Object.entries(NUMBER_FIELDS)) {
    const x = optionalNumber(body, key, rule, issues);
    if (x !== undefined) (req as unknown as Record<string, unknown>)[key] = x;
  }
  for (const key of ['stream', 'safe_prompt', 'continue_final_message'] as const) {
    const b = optionalBool(body, key, ['body'], issues);
    if (b !== undefined) req[key] = b;
  }
  const stop = validateStop(field(body, 'stop'), issues);
  if (stop !== undefined) req.stop = stop;
  const responseFormat = field(body, 'response_format');
  if (responseFormat !== undefined && responseFormat !== null) {
    if (expectObj(responseFormat, ['body', 'response_format'], issues))
      req.response_format = responseFormat as JsonValue;
  }

  // Conversation rules only make sense once every message is well-formed.
  if (issues.count === before) validateStructure(req.messages, req.continue_final_message === true, issues);
  return req;
}
