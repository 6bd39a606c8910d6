/**
 * The instruct-v3 normaliser (spec §8.5; mistral-common `InstructRequestNormalizer`): a validated request
 * becomes a {@link Conversation} that the renderer can walk message by message.
 *
 * - all system messages (with content) are removed and joined with "\n\n" into one system prompt;
 * - each run of consecutive messages of one role is merged (a message of another role — a system message
 *   too — ends the run): user/assistant texts are joined with "\n\n", empty texts are skipped, images stay
 *   where they were; assistant tool calls are concatenated and `prefix` OR-ed; tool messages stay separate;
 * - tool-call arguments and tool results are re-serialised Python-style when they parse as JSON
 *   (empty → "{}"), which is what the model saw in training;
 * - if the conversation does not start with a user message, an empty one is put in front.
 */
import type { JsonValue } from './pyfloat.js';
import { pyJsonDumps, tryParsePyJson } from './pyjson.js';
import type { AssistantMessage, ChatMessage, ChatRequest, TextPart, Tool, UserContentPart } from './types.js';

export type PromptChunk = { type: 'text'; text: string } | { type: 'image'; url: string };

export interface UserTurn {
  role: 'user';
  /** All-text content collapses to one string; with images it is a chunk list (never empty). */
  content: string | PromptChunk[];
}

export interface NormalizedToolCall {
  name: string;
  /** Python-normalised JSON text (or the raw text when it is not JSON). */
  arguments: string;
  /** `"null"` when the call has no id (mistral-common's default). */
  id: string;
}

export interface AssistantTurn {
  role: 'assistant';
  content: string;
  toolCalls: NormalizedToolCall[];
  prefix: boolean;
}

export interface ToolTurn {
  role: 'tool';
  /** Python-normalised JSON text (or the raw text when it is not JSON). */
  content: string;
  toolCallId: string;
}

export type Turn = UserTurn | AssistantTurn | ToolTurn;

export interface Conversation {
  messages: Turn[];
  /** The joined system prompt, `null` when there is none. */
  system: string | null;
  tools: Tool[];
  /** Render the final assistant message without `</s>` (vLLM-style `continue_final_message`). */
  continueFinalMessage: boolean;
}

const JOIN = '\n\n';

type Content = string | PromptChunk[] | null | undefined;

/**
 * mistral-common `_aggregate_content_chunks_impl` (message and chunk separators are both "\n\n" in v3):
 * coalesces adjacent text within and across messages, skipping empty texts; returns a string when no image
 * chunk was seen.
 */
export function aggregateContents(contents: Content[]): string | PromptChunk[] {
  const all: PromptChunk[] = [];
  let text: string[] = [];
  const flush = (): void => {
    if (text.length > 0) all.push({ type: 'text', text: text.join('') });
    text = [];
  };
  for (const content of contents) {
    if (!content || content.length === 0) continue;
    if (typeof content === 'string') {
      text.push((text.length > 0 ? JOIN : '') + content);
      continue;
    }
    for (const chunk of content) {
      if (chunk.type === 'image') {
        flush();
        all.push(chunk);
      } else if (chunk.text) {
        text.push((text.length > 0 ? JOIN : '') + chunk.text);
      }
    }
  }
  if (all.length === 0) return text.join('');
  flush();
  return all;
}

function toChunks(content: string | UserContentPart[] | TextPart[] | null | undefined): Content {
  if (content === null || content === undefined || typeof content === 'string') return content;
  return content.map((p): PromptChunk => {
    if (p.type === 'text') return { type: 'text', text: p.text };
    return { type: 'image', url: typeof p.image_url === 'string' ? p.image_url : p.image_url.url };
  });
}

/** Text-only content (system, assistant, tool) as one string. */
function textOf(contents: Content[]): string {
  const c = aggregateContents(contents);
  if (typeof c !== 'string') throw new Error('image chunk in a text-only message'); // the validator prevents it
  return c;
}

/** mistral-common `_normalize_json_content`: empty → "{}", JSON → Python `json.dumps`, else unchanged. */
export function normalizeJsonContent(content: string | null | undefined): string {
  if (content === null || content === undefined || content.length === 0) return '{}';
  const parsed = tryParsePyJson(content);
  return parsed.ok ? pyJsonDumps(parsed.value) : content;
}

function argumentsText(args: string | JsonValue): string {
  // mistral-common's FunctionCall turns an object into `json.dumps(obj)`; after normalisation that is
  // exactly Python's `json.dumps(obj, ensure_ascii=False)`.
  return typeof args === 'string' ? args : pyJsonDumps(args);
}

function mergeAssistants(run: AssistantMessage[]): AssistantTurn {
  return {
    role: 'assistant',
    content: textOf(run.map((m) => toChunks(m.content))),
    toolCalls: run.flatMap((m) =>
      (m.tool_calls ?? []).map((c) => ({
        name: c.function.name,
        arguments: normalizeJsonContent(argumentsText(c.function.arguments)),
        id: c.id ?? 'null',
      })),
    ),
    prefix: run.some((m) => m.prefix === true),
  };
}

function mergeRun(run: ChatMessage[]): Turn[] {
  const role = run[0]!.role;
  if (role === 'system') return [];
  if (role === 'user')
    return [{ role: 'user', content: aggregateContents(run.map((m) => toChunks(m.content))) }];
  if (role === 'assistant') return [mergeAssistants(run as AssistantMessage[])];
  return run.map((m) => {
    if (m.role !== 'tool') throw new Error('unreachable');
    return {
      role: 'tool',
      content: normalizeJsonContent(textOf([toChunks(m.content)])),
      toolCallId: m.tool_call_id,
    };
  });
}

/** Normalises a validated request (see the module comment). */
export function normalizeChat(request: ChatRequest): Conversation {
  const prompts: string[] = [];
  for (const m of request.messages) {
    // Python truthiness: "" and [] are skipped, a list of empty texts is not (it contributes "").
    if (m.role === 'system' && m.content.length > 0) prompts.push(textOf([toChunks(m.content)]));
  }

  const messages: Turn[] = [];
  let run: ChatMessage[] = [];
  for (const m of request.messages) {
    if (run.length > 0 && run[0]!.role !== m.role) {
      messages.push(...mergeRun(run));
      run = [];
    }
    run.push(m);
  }
  if (run.length > 0) messages.push(...mergeRun(run));
  if (messages.length === 0 || messages[0]!.role !== 'user') messages.unshift({ role: 'user', content: '' });

  return {
    messages,
    system: prompts.length > 0 ? prompts.join(JOIN) : null,
    tools: request.tools ?? [],
    continueFinalMessage: request.continue_final_message === true,
  };
}
