/**
 * Parsing the model's tool calls (spec §9): after [TOOL_CALLS] the model writes a JSON list of
 * {"name", "arguments"[, "id"]}. Calls without a usable id get a fresh 9-character alphanumeric one.
 */
import { randomInt } from 'node:crypto';

export interface ToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function newToolCallId(): string {
  let id = '';
  for (let i = 0; i < 9; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/** The calls in the text after [TOOL_CALLS], or null when it is not a valid call list. */
export function parseToolCalls(text: string): ToolCall[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.trim());
  } catch {
    return null;
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const calls: ToolCall[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) return null;
    const { name, arguments: args, id } = item as { name?: unknown; arguments?: unknown; id?: unknown };
    if (typeof name !== 'string' || name.length === 0) return null;
    const argumentsText = typeof args === 'string' ? args : JSON.stringify(args ?? {});
    const validId = typeof id === 'string' && /^[a-zA-Z0-9]{9}$/.test(id) ? id : newToolCallId();
    calls.push({ id: validId, type: 'function', function: { name, arguments: argumentsText } });
  }
  return calls.length > 0 ? calls : null;
}
