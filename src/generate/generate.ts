/**
 * The generation loop (spec §9): images → adapter rows; prompt prefill in chunks; then one token per step,
 * streamed as text deltas with correct UTF-8 boundaries, until EOS, a stop string, max_tokens or the context
 * limit. Tool calls (a first token of [TOOL_CALLS]) are collected and parsed instead of streamed.
 * Work yields to the event loop between chunks and tokens, so an AbortSignal stops it within one token.
 */
import type { ImageInput } from '../model/vision-encoder.js';
import type { PixtralModel } from '../model/pixtral.js';
import { SpecialId, StreamDecoder, type Tokenizer } from '../tokenizer/index.js';
import { Sampler, type SamplingOptions } from './sampler.js';
import { StopStringMatcher } from './stop-strings.js';
import { parseToolCalls, type ToolCall } from './tool-calls.js';

export type FinishReason = 'stop' | 'length' | 'model_length' | 'tool_calls';

export interface GenerateOptions {
  readonly maxTokens?: number;
  readonly sampling: SamplingOptions;
  readonly stop?: readonly string[];
  /** Whether [TOOL_CALLS] may be generated; 'required' forces it as the first token. */
  readonly tools?: 'none' | 'auto' | 'required';
  readonly signal?: AbortSignal;
}

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

export type GenerationEvent =
  | { readonly type: 'text'; readonly text: string }
  | {
      readonly type: 'done';
      readonly finishReason: FinishReason;
      readonly text: string;
      readonly toolCalls: ToolCall[] | null;
      readonly tokens: number[];
      readonly usage: Usage;
    };

export class ContextLengthError extends Error {
  constructor(
    readonly promptTokens: number,
    readonly maxContext: number,
  ) {
    super(`the prompt has ${promptTokens} tokens but the model's context is ${maxContext} tokens`);
    this.name = 'ContextLengthError';
  }
}

export async function* generate(
  model: PixtralModel,
  tokenizer: Tokenizer,
  promptIds: readonly number[],
  images: readonly ImageInput[],
  options: GenerateOptions,
): AsyncGenerator<GenerationEvent> {
  const maxContext = model.config.maxContext;
  if (promptIds.length >= maxContext) throw new ContextLengthError(promptIds.length, maxContext);
  const room = maxContext - promptIds.length;
  const maxTokens = Math.min(options.maxTokens ?? room, room);
  const signal = options.signal;
  const cache = model.newCache(promptIds.length + maxTokens);
  try {
    const imageRows = images.length > 0 ? model.imageEmbeddings(images) : undefined;
    await pause(signal);
    const prefill = model.prefillSteps(promptIds, cache, imageRows);
    let step = prefill.next();
    while (!step.done) {
      await pause(signal);
      step = prefill.next();
    }
    let logits = step.value;

    const sampler = new Sampler(options.sampling, blockedIds(tokenizer, options.tools ?? 'none'));
    const decoder = new StreamDecoder(tokenizer);
    const stops = new StopStringMatcher(options.stop ?? []);
    const tokens: number[] = [];
    let text = '';
    let toolMode = false;
    let finishReason: FinishReason = maxTokens < room ? 'length' : 'model_length';

    while (tokens.length < maxTokens) {
      const forced = tokens.length === 0 && options.tools === 'required' ? SpecialId.TOOL_CALLS : undefined;
      const id = sampler.sample(logits, forced);
      if (id === SpecialId.EOS) {
        finishReason = 'stop';
        break;
      }
      tokens.push(id);
      if (tokens.length === 1 && id === SpecialId.TOOL_CALLS) toolMode = true;
      else if (!toolMode) {
        const { emit, stopped } = stops.push(decoder.push(id));
        if (emit) {
          text += emit;
          yield { type: 'text', text: emit };
        }
        if (stopped) {
          finishReason = 'stop';
          break;
        }
      }
      if (tokens.length >= maxTokens) break;
      await pause(signal);
      logits = model.step(id, cache);
    }

    if (toolMode) {
      const raw = tokenizer.decode(tokens.slice(1));
      const calls = finishReason === 'stop' ? parseToolCalls(raw) : null;
      if (calls) {
        yield {
          type: 'done',
          finishReason: 'tool_calls',
          text: '',
          toolCalls: calls,
          tokens,
          usage: usage(promptIds, tokens),
        };
        return;
      }
      // Unparseable calls come back as plain text (spec §9 judgement).
      text = raw;
      yield { type: 'text', text: raw };
    } else {
      const tail = stops.push(decoder.end());
      const rest = tail.stopped ? tail.emit : tail.emit + stops.flush();
      if (rest) {
        text += rest;
        yield { type: 'text', text: rest };
      }
      if (tail.stopped) finishReason = 'stop';
    }
    yield { type: 'done', finishReason, text, toolCalls: null, tokens, usage: usage(promptIds, tokens) };
  } finally {
    cache.release();
  }
}

function usage(promptIds: readonly number[], tokens: readonly number[]): Usage {
  return { promptTokens: promptIds.length, completionTokens: tokens.length };
}

/** Control ids other than EOS (and [TOOL_CALLS] when tools are allowed) must never be generated. */
function blockedIds(tokenizer: Tokenizer, tools: 'none' | 'auto' | 'required'): Set<number> {
  const blocked = new Set<number>();
  for (let id = 0; id < tokenizer.numSpecial; id++) {
    if (id === SpecialId.EOS) continue;
    if (id === SpecialId.TOOL_CALLS && tools !== 'none') continue;
    blocked.add(id);
  }
  return blocked;
}

/** Lets other work run (and a cancellation arrive) between heavy steps. */
async function pause(signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}
