/**
 * The playground's only way to the model: this server's public chat-completions API, streamed. Errors come
 * back as the API's own Mistral-shaped messages (401, 413, 429, …), so the page shows what a client would see.
 */
import type { PlaygroundConfig } from '../../src/server/playground-config.js';
import type { ChatRequestBody } from './request.js';
import { readSse } from '../../src/server/sse-reader.js';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens the server had cached from an earlier request (the same picture, the earlier turns). */
  cachedTokens: number;
}

export interface Answer {
  text: string;
  usage: Usage | null;
  finishReason: string | null;
  /** Completion tokens per second, from the first token to the last. */
  tokensPerSecond: number | null;
}

/** A refusal or failure reported by the API (status 0: the server could not be reached). */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function authHeaders(key: string): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

export async function streamChat(
  body: ChatRequestBody,
  key: string,
  signal: AbortSignal,
  onText: (delta: string) => void,
): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(key) },
      body: JSON.stringify({ ...body, stream: true }),
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new ApiFailure(0, `The server could not be reached: ${(err as Error).message}`);
  }
  if (!response.ok) throw await failureOf(response);
  if (!response.body) throw new ApiFailure(response.status, 'The answer had no body.');

  const answer: Answer = { text: '', usage: null, finishReason: null, tokensPerSecond: null };
  let firstTokenAt: number | null = null;
  let finished = false;
  for await (const frame of readSse(response.body)) {
    if (frame.data === '[DONE]') {
      finished = true;
      continue;
    }
    const payload = JSON.parse(frame.data) as StreamChunk;
    if (frame.event === 'error') throw new ApiFailure(response.status, errorMessage(payload));
    const choice = payload.choices?.[0];
    const delta = choice?.delta?.content;
    if (typeof delta === 'string' && delta) {
      firstTokenAt ??= performance.now();
      answer.text += delta;
      onText(delta);
    }
    if (choice?.finish_reason) answer.finishReason = choice.finish_reason;
    if (payload.usage) {
      answer.usage = {
        promptTokens: payload.usage.prompt_tokens,
        completionTokens: payload.usage.completion_tokens,
        cachedTokens: payload.usage.prompt_tokens_details?.cached_tokens ?? 0,
      };
    }
  }
  // A stream cut short (a restart, a proxy) is not an answer, however much of it arrived.
  if (!finished) throw new ApiFailure(0, 'The connection closed before the answer was complete.');
  if (answer.usage && firstTokenAt !== null && answer.usage.completionTokens > 1) {
    const seconds = (performance.now() - firstTokenAt) / 1000;
    if (seconds > 0) answer.tokensPerSecond = (answer.usage.completionTokens - 1) / seconds;
  }
  return answer;
}

interface StreamChunk {
  choices?: { delta?: { content?: unknown }; finish_reason?: string | null }[];
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    prompt_tokens_details?: { cached_tokens?: number } | null;
  };
  message?: unknown;
  error?: { message?: unknown };
}

async function failureOf(response: Response): Promise<ApiFailure> {
  let message = `${response.status} ${response.statusText}`;
  try {
    message = errorMessage(await response.json()) || message;
  } catch {
    // not JSON: the status line says enough
  }
  return new ApiFailure(response.status, message);
}

/** Mistral's error body ({message, type, code}) or OpenAI's ({error: {message}}). */
function errorMessage(body: unknown): string {
  const b = body as StreamChunk | null;
  if (typeof b?.message === 'string') return b.message;
  if (typeof b?.error?.message === 'string') return b.error.message;
  return '';
}

export type { PlaygroundConfig };

export async function loadConfig(): Promise<PlaygroundConfig> {
  const response = await fetch('/playground/config.json');
  if (!response.ok) throw new ApiFailure(response.status, 'The playground settings could not be loaded.');
  return (await response.json()) as PlaygroundConfig;
}
