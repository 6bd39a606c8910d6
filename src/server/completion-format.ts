/**
 * The response objects of /v1/chat/completions as the Mistral SDK (and the OpenAI SDK) parse them:
 * `chat.completion` for a whole answer and `chat.completion.chunk` for each streamed delta.
 */
import { randomBytes } from 'node:crypto';
import type { FinishReason, Usage } from '../generate/sequence.js';
import type { ToolCall } from '../generate/tool-calls.js';

export interface UsageBody {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** OpenAI's field for prompt tokens served from a cache (Mistral's clients ignore it). */
  prompt_tokens_details: { cached_tokens: number };
}

export interface ChoiceResult {
  readonly text: string;
  readonly toolCalls: readonly ToolCall[] | null;
  readonly finishReason: FinishReason;
  /** The document was closed early to fit max_tokens (present only when true). */
  readonly truncated?: boolean;
}

export const completionId = (): string => `cmpl-${randomBytes(16).toString('hex')}`;

export const unixSeconds = (): number => Math.floor(Date.now() / 1000);

export function usageBody(usage: Usage): UsageBody {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens ?? 0 },
  };
}

function toolCallsBody(calls: readonly ToolCall[]) {
  return calls.map((call, index) => ({ ...call, index }));
}

export function completionBody(
  id: string,
  created: number,
  model: string,
  choices: ChoiceResult[],
  usage: Usage,
) {
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: choices.map((choice, index) => ({
      index,
      message: {
        role: 'assistant',
        content: choice.text,
        tool_calls: choice.toolCalls ? toolCallsBody(choice.toolCalls) : null,
        prefix: false,
      },
      finish_reason: choice.finishReason,
      ...(choice.truncated && { truncated: true }),
    })),
    usage: usageBody(usage),
  };
}

export interface ChunkDelta {
  role?: 'assistant';
  content?: string;
  tool_calls?: ReturnType<typeof toolCallsBody>;
}

export function chunkBody(
  id: string,
  created: number,
  model: string,
  index: number,
  delta: ChunkDelta,
  finishReason: FinishReason | null,
  usage?: Usage,
  truncated = false,
) {
  return {
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index, delta, finish_reason: finishReason, ...(truncated && { truncated: true }) }],
    ...(usage && { usage: usageBody(usage) }),
  };
}

export function toolCallDelta(calls: readonly ToolCall[]): ChunkDelta {
  return { content: '', tool_calls: toolCallsBody(calls) };
}
