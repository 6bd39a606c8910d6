/**
 * The one place a chat-completion body is read: untrusted JSON → a complete, typed {@link CompletionRequest}
 * (the conversation to render plus everything about how to answer it — choices, seed, stop list, tool mode,
 * compiled output grammars), or one {@link ChatValidationError} listing every problem (HTTP 422). Nothing
 * downstream looks at the raw body again; the CLI builds a body and comes through here too.
 */
import type { GenerateOptions } from '../generate/sequence.js';
import { responseSchema, toolCallSchema } from './output-grammar.js';
import { withSafePrompt } from './safe-prompt.js';
import type { ChatRequest } from './types.js';
import { readChatRequest } from './validate.js';
import { ChatValidationError, field, isInt, isObj, Issues, type Obj } from './validation-error.js';

/** Server defaults of spec §9: temperature 0.7, top_p 1.0 (temperature 0 is greedy). */
export const DEFAULT_TEMPERATURE = 0.7;
export const DEFAULT_TOP_P = 1;
/** Largest `n` (choices per request) accepted unless the caller says otherwise. */
export const DEFAULT_MAX_CHOICES = 8;

/** Whether [TOOL_CALLS] may be generated; 'required' forces it as the first token. */
export type ToolMode = 'none' | 'auto' | 'required';

/**
 * How to answer, before the context budget is known: the engine fixes `maxTokens` and `room` against the
 * prompt (spec §9: max_tokens defaults to the rest of the context). The sampling seed is choice 0's; choice i
 * samples with seed + i.
 */
export type AnswerSettings = Omit<GenerateOptions, 'maxTokens' | 'room' | 'signal'> & {
  /** What the client asked for; null = the rest of the context. */
  readonly maxTokens: number | null;
  readonly stop: readonly string[];
  readonly tools: ToolMode;
};

export interface CompletionRequest {
  /** The model the client named (absent for the CLI); the server checks it against its own names. */
  readonly model: string | null;
  /** The conversation as rendered, safe_prompt already applied (also what an upstream engine is sent). */
  readonly chat: ChatRequest;
  readonly n: number;
  readonly stream: boolean;
  readonly answer: AnswerSettings;
}

export interface RequestRules {
  readonly maxChoices?: number;
  /** The API requires `model`; the CLI sends none. */
  readonly requireModel?: boolean;
}

export function validateCompletionRequest(body: unknown, rules: RequestRules = {}): CompletionRequest {
  const issues = new Issues();
  const parsed = readChatRequest(body, issues);
  if (!parsed || !isObj(body)) throw new ChatValidationError(issues.list);
  const chat = withSafePrompt(parsed);

  if (rules.requireModel && (chat.model === undefined || chat.model === null))
    issues.missing(['body', 'model']);
  const maxChoices = rules.maxChoices ?? DEFAULT_MAX_CHOICES;
  const n = chat.n ?? 1;
  if (n > maxChoices)
    issues.add(['body', 'n'], `Input should be less than or equal to ${maxChoices}`, 'less_than_equal');
  const seed = seedOf(body, chat.random_seed, issues);
  const parallel = booleanField(body, 'parallel_tool_calls', true, issues);
  // Grammars compile only for a well-formed request (tool schemas need valid tools).
  const grammars =
    issues.count === 0
      ? { response: responseSchema(chat, issues), tools: toolCallSchema(chat, parallel, issues) }
      : {};
  if (issues.count > 0) throw new ChatValidationError(issues.list);

  return {
    model: chat.model ?? null,
    chat,
    n,
    stream: chat.stream === true,
    answer: {
      maxTokens: typeof chat.max_tokens === 'number' ? chat.max_tokens : null,
      sampling: {
        temperature: chat.temperature ?? DEFAULT_TEMPERATURE,
        topP: chat.top_p ?? DEFAULT_TOP_P,
        presencePenalty: chat.presence_penalty ?? 0,
        frequencyPenalty: chat.frequency_penalty ?? 0,
        ...(seed !== undefined && { seed }),
      },
      stop:
        chat.stop === null || chat.stop === undefined
          ? []
          : typeof chat.stop === 'string'
            ? [chat.stop]
            : chat.stop,
      tools: toolMode(chat),
      ...(grammars.response && { responseSchema: grammars.response }),
      ...(grammars.tools && { toolSchema: grammars.tools }),
    },
  };
}

/** `random_seed` (Mistral) or `seed` (OpenAI clients). */
function seedOf(body: Obj, randomSeed: number | null | undefined, issues: Issues): number | undefined {
  if (typeof randomSeed === 'number') return randomSeed;
  const seed = field(body, 'seed');
  if (seed === undefined || seed === null) return undefined;
  if (!isInt(seed) || Number(seed) < 0) {
    issues.add(['body', 'seed'], 'Input should be a non-negative integer', 'int_type');
    return undefined;
  }
  return Number(seed);
}

/** `parallel_tool_calls` (Mistral and OpenAI): false allows one call per answer. */
function booleanField(body: Obj, key: string, fallback: boolean, issues: Issues): boolean {
  const value = field(body, key);
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  issues.add(['body', key], 'Input should be a valid boolean', 'bool_type');
  return fallback;
}

function toolMode(request: ChatRequest): ToolMode {
  if (!request.tools || request.tools.length === 0) return 'none';
  const choice = request.tool_choice ?? 'auto';
  if (choice === 'none') return 'none';
  if (choice === 'auto') return 'auto';
  return 'required'; // 'any', 'required' or a named function
}
