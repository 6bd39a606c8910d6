/**
 * The library's chat options (camelCase, images as the application holds them) → a Mistral chat-completion
 * body → `validateCompletionRequest`, the one reader of a request. The library adds no rules of its own: a
 * bad field is reported exactly as the API would report it (`loc` into the Mistral body).
 */
import { type CompletionRequest, validateCompletionRequest } from '../chat/completion-request.js';
import { ChatValidationError } from '../chat/validation-error.js';
import { InvalidRequestError } from './errors.js';
import { type ImageSource, toImageUrl } from './images.js';
import { readResponseFormat, type ResponseFormat } from './response-format.js';

export type ContentPart =
  { readonly type: 'text'; readonly text: string } | { readonly type: 'image'; readonly image: ImageSource };

/** A call the model made (in an answer) or that an assistant message reports (in a conversation). */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** The arguments as JSON text, exactly as the model wrote them. */
  readonly arguments: string;
}

export type Message =
  | { readonly role: 'system'; readonly content: string }
  | { readonly role: 'user'; readonly content: string | readonly ContentPart[] }
  | {
      readonly role: 'assistant';
      readonly content?: string | null;
      readonly toolCalls?: readonly ToolCall[];
      /** The message starts the answer: generation continues it. */
      readonly prefix?: boolean;
    }
  | { readonly role: 'tool'; readonly content: string; readonly toolCallId: string; readonly name?: string };

export interface Tool {
  readonly name: string;
  readonly description?: string;
  /** JSON Schema of the arguments. */
  readonly parameters?: Record<string, unknown>;
}

export type ToolChoice = 'auto' | 'none' | 'any' | 'required' | { readonly name: string };

export interface ChatOptions<T = unknown> {
  /** The conversation, or one user message. */
  readonly messages: string | readonly Message[];
  /** Images for the last user message, placed before its text. */
  readonly images?: readonly ImageSource[];
  readonly tools?: readonly Tool[];
  readonly toolChoice?: ToolChoice;
  readonly parallelToolCalls?: boolean;
  /** Structured output: `{type: 'json_object'}`, `{type: 'json_schema', schema}` or a zod schema (typed `json()`). */
  readonly responseFormat?: ResponseFormat<T>;
  /** 0 is greedy; the API's default (0.7) when absent. */
  readonly temperature?: number;
  readonly topP?: number;
  /** Tokens to generate at most; the rest of the context when absent. */
  readonly maxTokens?: number;
  readonly seed?: number;
  readonly stop?: string | readonly string[];
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  /** Aborting ends the generation before its next token, with an {@link AbortError}. */
  readonly signal?: AbortSignal;
}

export interface LibraryRequest<T> {
  readonly request: CompletionRequest;
  readonly parse: (value: unknown) => T;
}

export async function toCompletionRequest<T>(options: ChatOptions<T>): Promise<LibraryRequest<T>> {
  const format = await readResponseFormat(options.responseFormat);
  const body = {
    messages: await toMistralMessages(options),
    ...(options.tools && { tools: options.tools.map(toMistralTool) }),
    ...(options.toolChoice !== undefined && { tool_choice: toMistralToolChoice(options.toolChoice) }),
    ...(options.parallelToolCalls !== undefined && { parallel_tool_calls: options.parallelToolCalls }),
    ...(format.body !== undefined && { response_format: format.body }),
    ...(options.temperature !== undefined && { temperature: options.temperature }),
    ...(options.topP !== undefined && { top_p: options.topP }),
    ...(options.maxTokens !== undefined && { max_tokens: options.maxTokens }),
    ...(options.seed !== undefined && { random_seed: options.seed }),
    ...(options.stop !== undefined && {
      stop: typeof options.stop === 'string' ? options.stop : [...options.stop],
    }),
    ...(options.presencePenalty !== undefined && { presence_penalty: options.presencePenalty }),
    ...(options.frequencyPenalty !== undefined && { frequency_penalty: options.frequencyPenalty }),
  };
  try {
    return { request: validateCompletionRequest(body), parse: format.parse };
  } catch (err) {
    if (err instanceof ChatValidationError)
      throw new InvalidRequestError(err.message, null, err.issues, { cause: err });
    throw err;
  }
}

async function toMistralMessages(options: ChatOptions<unknown>): Promise<unknown[]> {
  const messages: readonly Message[] =
    typeof options.messages === 'string' ? [{ role: 'user', content: options.messages }] : options.messages;
  const images = options.images ?? [];
  const lastUser = messages.map((m) => m.role).lastIndexOf('user');
  if (images.length > 0 && lastUser < 0)
    throw new InvalidRequestError('images need a user message to go with', 'images_without_user_message');
  const out: unknown[] = [];
  for (const [i, message] of messages.entries()) {
    if (message.role !== 'user') {
      out.push(toMistralMessage(message));
      continue;
    }
    const parts: ContentPart[] = [
      ...(i === lastUser ? images.map((image) => ({ type: 'image' as const, image })) : []),
      ...(typeof message.content === 'string'
        ? [{ type: 'text' as const, text: message.content }]
        : message.content),
    ];
    out.push({ role: 'user', content: await Promise.all(parts.map(toMistralPart)) });
  }
  return out;
}

async function toMistralPart(part: ContentPart): Promise<unknown> {
  if (part.type === 'image') return { type: 'image_url', image_url: await toImageUrl(part.image) };
  return part; // text parts are already Mistral's; anything else is the validator's to report
}

function toMistralMessage(message: Exclude<Message, { role: 'user' }>): unknown {
  switch (message.role) {
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content ?? null,
        ...(message.toolCalls && {
          tool_calls: message.toolCalls.map((call) => ({
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: call.arguments },
          })),
        }),
        ...(message.prefix !== undefined && { prefix: message.prefix }),
      };
    case 'tool':
      return {
        role: 'tool',
        content: message.content,
        tool_call_id: message.toolCallId,
        ...(message.name !== undefined && { name: message.name }),
      };
    default:
      return message;
  }
}

function toMistralTool(tool: Tool): unknown {
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description !== undefined && { description: tool.description }),
      ...(tool.parameters !== undefined && { parameters: tool.parameters }),
    },
  };
}

function toMistralToolChoice(choice: ToolChoice): unknown {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}
