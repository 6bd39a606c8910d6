/**
 * One sequence's decoding state (spec §9), independent of who runs the model: given the logits after its
 * latest token it samples the next one, streams text with correct UTF-8 boundaries, watches stop strings,
 * EOS, max_tokens and the context limit, and collects tool calls (a first token of [TOOL_CALLS]) instead of
 * streaming them. The scheduler (src/engine/scheduler.ts) drives it; it never touches the model.
 */
import { SpecialId, StreamDecoder, type Tokenizer } from '../tokenizer/index.js';
import { JsonConstraint, type TokenConstraint } from './grammar/token-constraint.js';
import type { SchemaNode } from './grammar/schema.js';
import { ForcedClose } from './forced-close.js';
import { Sampler, type SamplingOptions } from './sampler.js';
import { StopStringMatcher } from './stop-strings.js';
import { parseToolCalls, type ToolCall } from './tool-calls.js';

export type FinishReason = 'stop' | 'length' | 'model_length' | 'tool_calls';

export interface GenerateOptions {
  /** Tokens to generate at most, already fitted to the context by {@link answerBudget} (the one check). */
  readonly maxTokens: number;
  /** Context left after the prompt: a sequence that stops there ends with 'model_length', not 'length'. */
  readonly room: number;
  readonly sampling: SamplingOptions;
  readonly stop?: readonly string[];
  /** Whether [TOOL_CALLS] may be generated; 'required' forces it as the first token. */
  readonly tools?: 'none' | 'auto' | 'required';
  readonly signal?: AbortSignal;
  /** JSON mode: the answer must be a document of this schema (response_format json_object / json_schema). */
  readonly responseSchema?: SchemaNode;
  /** What follows [TOOL_CALLS]: the call list's schema (names of the offered tools, their parameters). */
  readonly toolSchema?: SchemaNode;
}

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Prompt tokens whose keys and values came from the prefix cache (included in promptTokens). */
  readonly cachedTokens?: number;
}

export type GenerationEvent =
  /** `completionTokens`: tokens generated so far (what a cancelled request is billed for). */
  | { readonly type: 'text'; readonly text: string; readonly completionTokens: number }
  | {
      readonly type: 'done';
      readonly finishReason: FinishReason;
      readonly text: string;
      readonly toolCalls: ToolCall[] | null;
      readonly tokens: number[];
      readonly usage: Usage;
      /** JSON mode: the budget ran out and the document was closed early by forced tokens ('length'). */
      readonly truncated: boolean;
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

/**
 * The answer budget of a prompt: the context left after it, and the tokens to generate at most (what was
 * asked, or all of that room). Throws when the prompt leaves no room in the context.
 */
export function answerBudget(
  promptTokens: number,
  maxContext: number,
  maxTokens?: number | null,
): { room: number; maxTokens: number } {
  if (promptTokens >= maxContext) throw new ContextLengthError(promptTokens, maxContext);
  const room = maxContext - promptTokens;
  return { room, maxTokens: Math.min(maxTokens ?? room, room) };
}

export interface SequenceStep {
  readonly events: GenerationEvent[];
  /** The token to feed the model next, or null when the sequence has finished. */
  readonly next: number | null;
}

export class Sequence {
  private readonly sampler: Sampler;
  private readonly decoder: StreamDecoder;
  private readonly stops: StopStringMatcher;
  readonly tokens: number[] = [];
  private text = '';
  private toolMode = false;
  private finished = false;
  /** Prompt tokens the scheduler took from the prefix cache (reported in the usage). */
  cachedTokens = 0;
  /** Active output grammar: the response schema from the start, the tool-call schema after [TOOL_CALLS]. */
  private constraint: TokenConstraint | null;
  /** Keeps a JSON-mode answer closable within max_tokens (not tool calls). */
  private closer: ForcedClose | null = null;

  constructor(
    private readonly tokenizer: Tokenizer,
    readonly promptTokens: number,
    private readonly options: GenerateOptions,
  ) {
    this.sampler = new Sampler(options.sampling, blockedIds(tokenizer, options.tools ?? 'none'));
    this.decoder = new StreamDecoder(tokenizer);
    this.stops = new StopStringMatcher(options.stop ?? []);
    const json = options.responseSchema ? new JsonConstraint(tokenizer, options.responseSchema) : null;
    this.constraint = json;
    this.closer = json && new ForcedClose(json);
  }

  /** The constraint for the next pick; the first token may also open a tool call when tools are offered. */
  private nextConstraint(): TokenConstraint | undefined {
    const json = this.constraint;
    if (!json) return undefined;
    if (this.tokens.length > 0 || (this.options.tools ?? 'none') === 'none') return json;
    return {
      allows: (id) => id === SpecialId.TOOL_CALLS || json.allows(id),
      maskRefused: (logits) => {
        const toolCalls = logits[SpecialId.TOOL_CALLS]!;
        json.maskRefused(logits);
        logits[SpecialId.TOOL_CALLS] = toolCalls;
      },
      maskIfCached: (logits) => {
        const toolCalls = logits[SpecialId.TOOL_CALLS]!;
        if (!json.maskIfCached(logits)) return false;
        logits[SpecialId.TOOL_CALLS] = toolCalls;
        return true;
      },
      accept: () => {},
    };
  }

  /** KV slots the whole sequence may need: prompt plus the largest answer. */
  get capacity(): number {
    return this.promptTokens + this.options.maxTokens;
  }

  get done(): boolean {
    return this.finished;
  }

  /** Samples the next token from `logits` (after the prompt or the previous token). */
  accept(logits: Float32Array): SequenceStep {
    if (this.finished) throw new Error('sequence already finished');
    const { tokens, options } = this;
    const id = this.pick(logits);
    if (id === SpecialId.EOS) return { events: this.finish('stop'), next: null };
    tokens.push(id);
    const events: GenerationEvent[] = [];
    if (tokens.length === 1 && id === SpecialId.TOOL_CALLS) {
      this.toolMode = true;
      this.constraint = options.toolSchema ? new JsonConstraint(this.tokenizer, options.toolSchema) : null;
      this.closer = null;
    } else this.constraint?.accept(id);
    if (!this.toolMode) {
      const { emit, stopped } = this.stops.push(this.decoder.push(id));
      if (emit) events.push(this.emitText(emit));
      if (stopped) return { events: [...events, ...this.finish('stop', true)], next: null };
    }
    if (this.closer?.closed) return { events: [...events, ...this.finish('length')], next: null };
    if (tokens.length >= options.maxTokens) {
      const reason = options.maxTokens < options.room ? 'length' : 'model_length';
      return { events: [...events, ...this.finish(reason)], next: null };
    }
    return { events, next: id };
  }

  /** The next token: forced ([TOOL_CALLS] first when required, a forced close), else the sampler's pick. */
  private pick(logits: Float32Array): number {
    const { tokens, options } = this;
    const forced =
      tokens.length === 0 && options.tools === 'required' ? SpecialId.TOOL_CALLS : this.closer?.next();
    let id = forced ?? this.sampler.choose(logits, this.nextConstraint());
    if (forced === undefined && this.closer && id !== SpecialId.TOOL_CALLS)
      id = this.closer.settle(id, options.maxTokens - tokens.length - 1);
    this.sampler.record(id);
    return id;
  }

  private emitText(text: string): GenerationEvent {
    this.text += text;
    return { type: 'text', text, completionTokens: this.tokens.length };
  }

  private finish(reason: FinishReason, stoppedByString = false): GenerationEvent[] {
    this.finished = true;
    const events: GenerationEvent[] = [];
    const usage = {
      promptTokens: this.promptTokens,
      completionTokens: this.tokens.length,
      cachedTokens: this.cachedTokens,
    };
    if (this.toolMode) {
      const raw = this.tokenizer.decode(this.tokens.slice(1));
      const calls = reason === 'stop' ? parseToolCalls(raw) : null;
      if (calls) {
        const tokens = this.tokens;
        return [
          {
            type: 'done',
            finishReason: 'tool_calls',
            text: '',
            toolCalls: calls,
            tokens,
            usage,
            truncated: false,
          },
        ];
      }
      // Unparseable calls come back as plain text (spec §9 judgement).
      events.push(this.emitText(raw));
    } else if (!stoppedByString) {
      const tail = this.stops.push(this.decoder.end());
      const rest = tail.stopped ? tail.emit : tail.emit + this.stops.flush();
      if (rest) events.push(this.emitText(rest));
      if (tail.stopped) reason = 'stop';
    }
    events.push({
      type: 'done',
      finishReason: reason,
      text: this.text,
      toolCalls: null,
      tokens: this.tokens,
      usage,
      truncated: this.closer?.truncated ?? false,
    });
    return events;
  }
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
