/**
 * A Mistral chat-completion request as `validateChatRequest` returns it (the shape of Mistral's
 * `/v1/chat/completions` body, restricted to what Pixtral / instruct v3 can render).
 *
 * Opaque JSON (tool `parameters`, object-valued tool-call `arguments`, `response_format`) is kept as given —
 * `Map`s when the body was parsed with `parsePyJson` (exact Python key order and float-ness), plain objects
 * when it came from `JSON.parse`.
 */
import type { JsonValue } from './pyfloat.js';

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface TextPart {
  type: 'text';
  text: string;
}

/** `image_url` is either the URL itself or `{url, detail}` (OpenAI style); both are accepted by Mistral. */
export type ImageUrl = string | { url: string; detail?: string | null };

export interface ImageUrlPart {
  type: 'image_url';
  image_url: ImageUrl;
}

export type UserContentPart = TextPart | ImageUrlPart;

export interface SystemMessage {
  role: 'system';
  content: string | TextPart[];
}

export interface UserMessage {
  role: 'user';
  content: string | UserContentPart[];
}

export interface FunctionCall {
  name: string;
  /** A JSON string (what the API sends) or an object, which is serialised as Python would. */
  arguments: string | JsonValue;
}

export interface ToolCall {
  /** 9 alphanumerics; absent or the literal `"null"` (what Mistral's SDK sends) means "no id". */
  id?: string;
  type?: 'function';
  function: FunctionCall;
}

export interface AssistantMessage {
  role: 'assistant';
  content?: string | TextPart[] | null;
  tool_calls?: ToolCall[] | null;
  /** The message is the start of the answer: it is rendered without `</s>` and generation continues it. */
  prefix?: boolean;
}

export interface ToolMessage {
  role: 'tool';
  content: string | TextPart[];
  tool_call_id: string;
  /** Accepted and checked, but instruct v3 does not render it. */
  name?: string | null;
}

export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

export interface FunctionDefinition {
  name: string;
  description?: string;
  /** A JSON-schema object; rendered as given. */
  parameters?: JsonValue;
  strict?: boolean;
}

export interface Tool {
  type: 'function';
  function: FunctionDefinition;
}

export type ToolChoice =
  'auto' | 'none' | 'any' | 'required' | { type: 'function'; function: { name: string } };

export interface ChatRequest {
  model?: string;
  messages: ChatMessage[];
  tools?: Tool[] | null;
  tool_choice?: ToolChoice;
  temperature?: number | null;
  top_p?: number | null;
  max_tokens?: number | null;
  stream?: boolean;
  stop?: string | string[] | null;
  random_seed?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  n?: number | null;
  safe_prompt?: boolean;
  response_format?: JsonValue;
  /** vLLM / mistral-common extension: continue the final (non-prefix) assistant message without `</s>`. */
  continue_final_message?: boolean;
}
