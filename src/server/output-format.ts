/**
 * The output grammars of a request: `response_format` (json_object → any JSON object, json_schema → that
 * schema) and, when tools are offered, the shape of the call list after [TOOL_CALLS] — each call's name one
 * of the offered tools (or the one tool_choice names) and its arguments that tool's parameter schema.
 */
import type { ChatRequest } from '../chat/index.js';
import { toPlainJson } from '../chat/pyfloat.js';
import { ANY_OBJECT, compileSchema, SchemaError, type SchemaNode } from '../generate/grammar/schema.js';
import { invalidField } from './errors.js';

type Plain = Record<string, unknown>;
const isPlainObject = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

export function responseSchema(request: ChatRequest): SchemaNode | undefined {
  const format = toPlainJson(request.response_format);
  if (format === undefined || format === null) return undefined;
  if (!isPlainObject(format))
    throw invalidField(['body', 'response_format'], 'Input should be an object', 'dict_type');
  switch (format.type) {
    case undefined:
    case 'text':
      return undefined;
    case 'json_object':
      return ANY_OBJECT;
    case 'json_schema': {
      const spec = format.json_schema;
      if (!isPlainObject(spec) || !isPlainObject(spec.schema))
        throw invalidField(['body', 'response_format', 'json_schema', 'schema'], 'Field required', 'missing');
      return compileOrReject(spec.schema, ['body', 'response_format', 'json_schema', 'schema']);
    }
    default:
      throw invalidField(
        ['body', 'response_format', 'type'],
        "Input should be 'text', 'json_object' or 'json_schema'",
        'literal_error',
      );
  }
}

/** Calls in one answer at most when parallel calls are allowed. */
export const MAX_PARALLEL_TOOL_CALLS = 16;

export function toolCallSchema(request: ChatRequest, parallel = true): SchemaNode | undefined {
  const tools = request.tools ?? [];
  if (tools.length === 0) return undefined;
  const choice = request.tool_choice;
  const named = typeof choice === 'object' && choice !== null ? choice.function.name : null;
  const offered = named ? tools.filter((t) => t.function.name === named) : tools;
  if (offered.length === 0)
    throw invalidField(
      ['body', 'tool_choice', 'function', 'name'],
      `No tool named '${named}' is offered in tools`,
    );
  const calls = offered.map((tool) => ({
    type: 'object',
    properties: {
      name: { const: tool.function.name },
      arguments: toPlainJson(tool.function.parameters) ?? { type: 'object' },
    },
    required: ['name', 'arguments'],
  }));
  const maxItems = parallel ? MAX_PARALLEL_TOOL_CALLS : 1;
  return compileOrReject({ type: 'array', minItems: 1, maxItems, items: { anyOf: calls } }, [
    'body',
    'tools',
  ]);
}

function compileOrReject(schema: unknown, loc: (string | number)[]): SchemaNode {
  try {
    return compileSchema(schema);
  } catch (err) {
    if (err instanceof SchemaError) throw invalidField(loc, err.message);
    throw err;
  }
}
