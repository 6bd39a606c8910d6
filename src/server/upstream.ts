/**
 * `--upstream URL`: the same API (keys, metering, quotas) in front of another OpenAI-compatible engine —
 * vLLM, llama-server, or another Pixtral TS — which does the generating. Prompts are still validated and
 * tokenized here (with the bundled Tekken tokenizer) so errors, limits and prompt-token counts are ours;
 * the upstream's own usage figures are billed when it reports them.
 */
import type { ImageSettings } from '../checkpoint/index.js';
import type { CompletionRequest } from '../chat/completion-request.js';
import { pyJsonDumps } from '../chat/pyjson.js';
import type { ChoicesRun, EngineClient } from '../engine/engine.js';
import { dataUriFetcher } from '../engine/fetchers.js';
import { choiceOptions, type ImageFetcher, preparePrompt, type Prompt } from '../engine/prepare.js';
import {
  EMPTY_STATS,
  QueueFullError,
  SchedulerClosedError,
  type SchedulerStats,
} from '../engine/scheduler.js';
import type { GenerateOptions, GenerationEvent } from '../generate/sequence.js';
import { parseToolCalls } from '../generate/tool-calls.js';
import { bundledTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { ApiError } from './errors.js';
import { readSse } from './sse-reader.js';

export interface UpstreamOptions {
  readonly url: string;
  /** The model name to ask the upstream for. */
  readonly model: string;
  readonly apiKey?: string;
  readonly maxContext?: number;
  /** Requests in flight to the upstream at once; beyond it, 503. */
  readonly maxInFlight?: number;
}

interface StreamedToolCall {
  id?: string;
  function: { name: string; arguments: string };
}

export class UpstreamEngine implements EngineClient {
  private readonly tokenizer: Tokenizer = bundledTokenizer();
  private inFlight = 0;
  private closed = false;
  readonly maxContext: number;
  readonly vision = true;
  /** Pixtral 12B's image sizing: what the engines behind an upstream run. */
  readonly image: ImageSettings = { patchSize: 16, maxImageSize: 1024 };
  readonly settings = null;
  readonly id: string;

  constructor(private readonly options: UpstreamOptions) {
    this.maxContext = options.maxContext ?? 131072;
    this.id = options.model;
  }

  get description(): string {
    return `upstream ${new URL(this.options.url).origin}`;
  }

  prepare(request: CompletionRequest, fetchImage: ImageFetcher = dataUriFetcher()): Promise<Prompt> {
    const rules = {
      tokenizer: this.tokenizer,
      image: this.image,
      maxContext: this.maxContext,
    };
    return preparePrompt(request, rules, fetchImage);
  }

  stats(): SchedulerStats {
    return { ...EMPTY_STATS, running: this.inFlight };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The upstream server runs each choice as its own request (it has its own caches). */
  generateChoices(prompt: Prompt, n: number, run: ChoicesRun = {}): AsyncIterable<GenerationEvent>[] {
    return Array.from({ length: n }, (_, choice) => this.generate(prompt, choice, run.signal));
  }

  generate(prompt: Prompt, choice = 0, signal?: AbortSignal): AsyncIterable<GenerationEvent> {
    if (this.closed) throw new SchedulerClosedError();
    if (this.inFlight >= (this.options.maxInFlight ?? 64)) throw new QueueFullError(this.inFlight);
    return this.stream(prompt, choiceOptions(prompt, choice, signal));
  }

  private requestBody(prompt: Prompt, options: GenerateOptions): string {
    const { sampling } = options;
    return pyJsonDumps({
      ...prompt.request.chat,
      model: this.options.model,
      n: 1,
      stream: true,
      stream_options: { include_usage: true },
      temperature: sampling.temperature,
      top_p: sampling.topP,
      ...(sampling.seed !== undefined && { seed: sampling.seed, random_seed: sampling.seed }),
      stop: options.stop ?? [],
      safe_prompt: undefined, // already applied to the messages
    });
  }

  private async *stream(prompt: Prompt, options: GenerateOptions): AsyncGenerator<GenerationEvent> {
    this.inFlight++;
    try {
      const response = await fetch(new URL('/v1/chat/completions', this.options.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          ...(this.options.apiKey && { authorization: `Bearer ${this.options.apiKey}` }),
        },
        body: this.requestBody(prompt, options),
        ...(options.signal && { signal: options.signal }),
      }).catch((err: Error) => {
        options.signal?.throwIfAborted();
        throw new ApiError(
          502,
          `upstream unreachable: ${err.message}`,
          'upstream_error',
          'upstream_unreachable',
        );
      });
      if (!response.ok || !response.body) {
        const text = await response.text().catch(() => '');
        const status = response.status >= 500 ? 502 : response.status;
        throw new ApiError(
          status,
          `upstream answered ${response.status}: ${text.slice(0, 300)}`,
          'upstream_error',
        );
      }
      yield* this.events(readSse(response.body), prompt.ids.length);
    } finally {
      this.inFlight--;
    }
  }

  private async *events(frames: AsyncIterable<{ event: string; data: string }>, promptTokens: number) {
    let text = '';
    let finishReason: string | null = null;
    let truncated = false;
    let usage: {
      prompt_tokens?: number;
      completion_tokens?: number;
      prompt_tokens_details?: { cached_tokens?: number } | null;
    } | null = null;
    const calls: StreamedToolCall[] = [];
    let pieces = 0;
    for await (const frame of frames) {
      if (frame.data === '[DONE]') break;
      const chunk = JSON.parse(frame.data);
      if (frame.event === 'error' || chunk.object === 'error' || chunk.error)
        throw new ApiError(
          502,
          `upstream failed: ${chunk.message ?? chunk.error?.message ?? 'error'}`,
          'upstream_error',
        );
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string' && delta.content) {
        text += delta.content;
        pieces++;
        yield { type: 'text', text: delta.content, completionTokens: pieces } as GenerationEvent;
      }
      for (const call of delta.tool_calls ?? []) mergeToolCall(calls, call);
      if (choice.finish_reason) finishReason = choice.finish_reason;
      if (choice.truncated === true) truncated = true;
    }
    const completionTokens = usage?.completion_tokens ?? this.tokenizer.encode(text).length;
    const toolCalls = calls.length > 0 ? parseToolCalls(JSON.stringify(calls.map(toParsable))) : null;
    yield {
      type: 'done',
      finishReason: toolCalls ? 'tool_calls' : finishReason === 'length' ? 'length' : 'stop',
      text: toolCalls ? '' : text,
      toolCalls,
      tokens: [],
      usage: {
        promptTokens: usage?.prompt_tokens ?? promptTokens,
        completionTokens,
        // What the upstream served from its own prefix cache (an engine that reports it).
        cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
      },
      truncated,
    } as GenerationEvent;
  }
}

/** OpenAI streams a call as pieces keyed by index (id and name first, then argument fragments). */
interface ToolCallPiece {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

function mergeToolCall(calls: StreamedToolCall[], piece: ToolCallPiece): void {
  const index = typeof piece.index === 'number' ? piece.index : calls.length;
  const call = (calls[index] ??= { function: { name: '', arguments: '' } });
  if (piece.id) call.id = piece.id;
  if (piece.function?.name) call.function.name += piece.function.name;
  if (piece.function?.arguments) call.function.arguments += piece.function.arguments;
}

function toParsable(call: StreamedToolCall) {
  return { name: call.function.name, arguments: call.function.arguments, ...(call.id && { id: call.id }) };
}
