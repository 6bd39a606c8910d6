/**
 * The output grammars of a request: `response_format` (json_object → any JSON object, json_schema → that
 * schema) and, when tools are offered, the shape of the call list after [TOOL_CALLS] — each call's name one
 * of the offered tools (or the one tool_choice names) and its arguments that tool's parameter schema.
 * Problems are recorded as 422 issues naming the field, like every other validation problem; a schema the
 * grammar cannot enforce is refused with a message naming the keyword and its place inside the schema.
 */
import { ANY_OBJECT, compileSchema, SchemaError, type SchemaNode } from '../generate/grammar/schema.js';
import { toPlainJson } from './pyfloat.js';
import type { ChatRequest } from './types.js';
import type { Issues, Loc } from './validation-error.js';

type Plain = Record<string, unknown>;
const isPlainObject = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

export function responseSchema(request: ChatRequest, issues: Issues): SchemaNode | undefined {
  const format = toPlainJson(request.response_format);
  if (format === undefined || format === null) return undefined;
  if (!isPlainObject(format)) {
    issues.add(['body', 'response_format'], 'Input should be an object', 'dict_type');
    return undefined;
  }
  switch (format.type) {
    case undefined:
    case 'text':
      return undefined;
    case 'json_object':
      return ANY_OBJECT;
    case 'json_schema': {
      const spec = format.json_schema;
      const loc = ['body', 'response_format', 'json_schema', 'schema'];
      if (!isPlainObject(spec) || !isPlainObject(spec.schema)) {
        issues.missing(loc);
        return undefined;
      }
      return compileOrRecord(spec.schema, loc, issues);
    }
    default:
      issues.add(
        ['body', 'response_format', 'type'],
        "Input should be 'text', 'json_object' or 'json_schema'",
        'literal_error',
      );
      return undefined;
  }
}

/** Calls in one answer at most when parallel calls are allowed. */
export const MAX_PARALLEL_TOOL_CALLS = 16;

export function toolCallSchema(
  request: ChatRequest,
  parallel: boolean,
  issues: Issues,
): SchemaNode | undefined {
  const tools = request.tools ?? [];
  if (tools.length === 0) return undefined;
  const choice = request.tool_choice;
  const named = typeof choice === 'object' && choice !== null ? choice.function.name : null;
  const offered = named ? tools.filter((t) => t.function.name === named) : tools;
  if (offered.length === 0) {
    issues.add(
      ['body', 'tool_choice', 'function', 'name'],
      `No tool named '${named}' is offered in tools`,
      'value_error',
    );
    return undefined;
  }
  // Each tool's parameters first on their own, so a refused keyword is reported at that tool.
  let usable = true;
  tools.forEach((tool, i) => {
    const parameters = toPlainJson(tool.function.parameters) ?? { type: 'object' };
    if (!compileOrRecord(parameters, ['body', 'tools', i, 'function', 'parameters'], issues)) usable = false;
  });
  if (!usable) return undefined;
  const calls = offered.map((tool) => ({
    type: 'object',
    properties: {
      name: { const: tool.function.name },
      arguments: toPlainJson(tool.function.parameters) ?? { type: 'object' },
    },
    required: ['name', 'arguments'],
  }));
  const maxItems = parallel ? MAX_PARALLEL_TOOL_CALLS : 1;
  return compileOrRecord(
    { type: 'array', minItems: 1, maxItems, items: { anyOf: calls } },
    ['body', 'tools'],
    issues,
  );
}

function compileOrRecord(schema: unknown, loc: Loc, issues: Issues): SchemaNode | undefined {
  try {
    return compileSchema(schema);
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    issues.add(loc, err.message, 'value_error');
    return undefined;
  }
}
