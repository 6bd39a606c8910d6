/** Driving the engine from tests: bodies validated as the API validates them, and scheduler options. */
import { validateCompletionRequest } from '../../src/chat/completion-request.js';
import type { EngineClient } from '../../src/engine/engine.js';
import type { ImageFetcher, Prompt } from '../../src/engine/prepare.js';
import type { GenerateOptions, GenerationEvent } from '../../src/generate/sequence.js';

export const greedy = { temperature: 0, topP: 1 };

/** A chat-completion body → a prompt on `engine` (the path the server and the CLI take). */
export function prepare(engine: EngineClient, body: unknown, fetchImage?: ImageFetcher): Promise<Prompt> {
  return engine.prepare(validateCompletionRequest(body), fetchImage);
}

/** A one-message greedy request body. */
export function ask(content: unknown, maxTokens: number, extra: Record<string, unknown> = {}) {
  return { messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 0, ...extra };
}

/** Options for driving a Scheduler directly (its callers fit max_tokens to the context beforehand). */
export function decodeOptions(maxTokens: number, extra: Partial<GenerateOptions> = {}): GenerateOptions {
  return { maxTokens, room: Number.MAX_SAFE_INTEGER, sampling: greedy, ...extra };
}

export type Done = Extract<GenerationEvent, { type: 'done' }>;

/** Reads a stream to its end: the text deltas and the final event. */
export async function collect(
  events: AsyncIterable<GenerationEvent>,
): Promise<{ deltas: string[]; done: Done }> {
  const deltas: string[] = [];
  let done: Done | undefined;
  for await (const e of events) {
    if (e.type === 'text') deltas.push(e.text);
    else done = e;
  }
  if (!done) throw new Error('stream ended without a done event');
  return { deltas, done };
}
