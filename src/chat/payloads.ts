/**
 * The three JSON payloads instruct v3 writes into the prompt (spec §8.6), as Python `json.dumps` text:
 * the available tools, an assistant's tool calls, and one tool result.
 */
import type { AssistantTurn, ToolTurn } from './normalize.js';
import type { JsonValue } from './pyfloat.js';
import { pyJsonDumps, tryParsePyJson } from './pyjson.js';
import type { Tool } from './types.js';

/** mistral-common `_parse_json_content`: the parsed value when the text is JSON, else the text itself. */
function jsonOrText(text: string): JsonValue {
  const parsed = tryParsePyJson(text);
  return parsed.ok ? parsed.value : text;
}

/**
 * `[{"type": "function", "function": {"name", "description", "parameters"}}, …]` — pydantic's
 * `Tool.model_dump()` key order with its defaults (description "", parameters {}); `strict` is not written.
 */
export function toolsJson(tools: readonly Tool[]): string {
  return pyJsonDumps(
    tools.map((t) => ({
      type: 'function',
      function: {
        name: t.function.name,
        description: t.function.description ?? '',
        parameters: t.function.parameters ?? {},
      },
    })),
  );
}

/** `[{"name", "arguments": <parsed JSON>, "id"}, …]`; `id` is left out when it is `"null"` (no id). */
export function toolCallsJson(calls: AssistantTurn['toolCalls']): string {
  return pyJsonDumps(
    calls.map((c) => {
      const call: Record<string, JsonValue> = { name: c.name, arguments: jsonOrText(c.arguments) };
      if (c.id && c.id !== 'null') call.id = c.id;
      return call;
    }),
  );
}

/** `{"content": <parsed JSON or raw text>, "call_id": …}` (v3 writes no tool name). */
export function toolResultJson(turn: ToolTurn): string {
  return pyJsonDumps({ content: jsonOrText(turn.content), call_id: turn.toolCallId });
}
