/**
 * One chat answer as the application reads it: an async iterable of typed events (text as it is generated,
 * then the tool calls, the usage and the finish), or — read whole — `text()`, `json()` and `result()`. It is
 * lazy: nothing is prepared until it is read, and it can be read once. Local models and remote servers
 * stream through here alike (both are engine clients).
 */
import type { EngineClient } from '../engine/engine.js';
import type { ImageFetcher } from '../engine/prepare.js';
import type { FinishReason, GenerationEvent } from '../generate/sequence.js';
import { type ChatOptions, type LibraryRequest, toCompletionRequest, type ToolCall } from './chat-request.js';
import { OutputParseError, PixtralError, toLibraryError } from './errors.js';

export type { FinishReason };

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  /** Prompt tokens served from the prefix cache (an earlier request of this model began the same way). */
  readonly cachedTokens: number;
}

export type ChatEvent =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'tool_call'; readonly toolCall: ToolCall }
  | { readonly type: 'usage'; readonly usage: Usage }
  | {
      readonly type: 'finish';
      readonly finishReason: FinishReason;
      /** The whole answer's text ('' when the model called tools). */
      readonly text: string;
      readonly toolCalls: readonly ToolCall[];
    };

export interface ChatResult {
  readonly text: string;
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason: FinishReason;
  readonly usage: Usage;
}

export class ChatStream<T = unknown> implements AsyncIterable<ChatEvent> {
  private read = false;
  private request: Promise<LibraryRequest<T>> | undefined;

  constructor(
    private readonly engine: EngineClient,
    private readonly options: ChatOptions<T>,
    private readonly fetchImage: ImageFetcher,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<ChatEvent> {
    if (this.read) throw new PixtralError('invalid_request', 'a chat answer can be read once');
    this.read = true;
    return this.events()[Symbol.asyncIterator]();
  }

  /** The whole answer. */
  async result(): Promise<ChatResult> {
    let usage: Usage | undefined;
    for await (const event of this) {
      if (event.type === 'usage') usage = event.usage;
      if (event.type === 'finish')
        return {
          text: event.text,
          toolCalls: event.toolCalls,
          finishReason: event.finishReason,
          usage: usage!,
        };
    }
    throw new Error('the generation ended without finishing'); // the engine always ends with 'done'
  }

  /** The answer's text. */
  async text(): Promise<string> {
    return (await this.result()).text;
  }

  /** The answer parsed as JSON — and checked by the zod schema of `responseFormat`, whose type it has. */
  async json(): Promise<T> {
    const text = await this.text();
    const { parse } = await this.completionRequest();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new OutputParseError(`the answer is not JSON: ${(err as Error).message}`, text, { cause: err });
    }
    try {
      return parse(value);
    } catch (err) {
      throw new OutputParseError(`the answer does not match the schema: ${(err as Error).message}`, text, {
        cause: err,
      });
    }
  }

  /** The options as a validated request, made once (json() needs its parser after the answer). */
  private completionRequest(): Promise<LibraryRequest<T>> {
    return (this.request ??= toCompletionRequest(this.options));
  }

  private async *events(): AsyncGenerator<ChatEvent> {
    const { signal } = this.options;
    try {
      signal?.throwIfAborted();
      const { request } = await this.completionRequest();
      const prompt = await this.engine.prepare(request, this.fetchImage);
      signal?.throwIfAborted();
      for await (const event of this.engine.generate(prompt, 0, signal)) yield* toChatEvents(event);
    } catch (err) {
      throw toLibraryError(err, signal);
    }
  }
}

function* toChatEvents(event: GenerationEvent): Generator<ChatEvent> {
  if (event.type === 'text') {
    if (event.text !== '') yield { type: 'text', text: event.text };
    return;
  }
  const toolCalls = (event.toolCalls ?? []).map((call) => ({
    id: call.id,
    name: call.function.name,
    arguments: call.function.arguments,
  }));
  for (const toolCall of toolCalls) yield { type: 'tool_call', toolCall };
  const { promptTokens, completionTokens, cachedTokens = 0 } = event.usage;
  yield {
    type: 'usage',
    usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, cachedTokens },
  };
  yield { type: 'finish', finishReason: event.finishReason, text: event.text, toolCalls };
}
