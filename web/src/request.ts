/**
 * The chat-completions request the playground sends: the conversation so far, the settings, and the images of
 * each user turn as data URLs. Pure (no DOM), so the code snippets and the send use one body.
 */
import { costNanoUsd, nanoToUsd } from '../../src/store/cost.js';
import type { Prices } from '../../src/store/types.js';

/** An image attached to a message, with what it costs the model in prompt tokens. */
export interface Attachment {
  readonly name: string;
  readonly dataUrl: string;
  readonly bytes: number;
  readonly width: number;
  readonly height: number;
  /** Prompt tokens the image takes (null when the model takes no images). */
  readonly tokens: number | null;
}

export interface Turn {
  readonly role: 'user' | 'assistant';
  readonly text: string;
  readonly images: readonly Attachment[];
}

export type AnswerFormat = 'text' | 'json_object' | 'json_schema';

export interface Settings {
  readonly model: string;
  readonly system: string;
  readonly temperature: number;
  readonly topP: number;
  readonly maxTokens: number;
  readonly format: AnswerFormat;
  /** The JSON schema's text (format json_schema). */
  readonly schema: string;
}

/** A setting the page cannot send as it is (the message says which and why). */
export class SettingsError extends Error {}

type ContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface ChatRequestBody {
  model: string;
  messages: { role: 'system' | 'user' | 'assistant'; content: string | ContentPart[] }[];
  temperature: number;
  top_p: number;
  max_tokens: number;
  stream?: boolean;
  response_format?: Record<string, unknown>;
}

export function buildRequest(settings: Settings, turns: readonly Turn[], stream: boolean): ChatRequestBody {
  const messages: ChatRequestBody['messages'] = [];
  if (settings.system.trim()) messages.push({ role: 'system', content: settings.system });
  for (const turn of turns) {
    if (turn.role === 'assistant' || turn.images.length === 0) {
      messages.push({ role: turn.role, content: turn.text });
      continue;
    }
    const parts: ContentPart[] = [];
    if (turn.text) parts.push({ type: 'text', text: turn.text });
    for (const image of turn.images) parts.push({ type: 'image_url', image_url: { url: image.dataUrl } });
    messages.push({ role: 'user', content: parts });
  }
  const body: ChatRequestBody = {
    model: settings.model,
    messages,
    temperature: checkedNumber(settings.temperature, 'Temperature', 0, 1.5),
    top_p: checkedNumber(settings.topP, 'Top p', 0.01, 1),
    max_tokens: Math.round(checkedNumber(settings.maxTokens, 'Max tokens', 1, 131072)),
  };
  if (stream) body.stream = true;
  if (settings.format === 'json_object') body.response_format = { type: 'json_object' };
  if (settings.format === 'json_schema') {
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: 'answer', schema: parsedSchema(settings.schema), strict: true },
    };
  }
  return body;
}

function checkedNumber(value: number, name: string, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max)
    throw new SettingsError(`${name} must be a number from ${min} to ${max}.`);
  return value;
}

function parsedSchema(text: string): Record<string, unknown> {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    throw new SettingsError(`The JSON schema is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    throw new SettingsError('The JSON schema must be a JSON object.');
  return schema as Record<string, unknown>;
}

/** What a request costs at the server's prices, in US dollars (the ledger's own arithmetic). */
export function costUsd(
  usage: { promptTokens: number; completionTokens: number; cachedTokens: number },
  prices: Prices,
): number {
  return nanoToUsd(costNanoUsd(usage.promptTokens, usage.completionTokens, prices, usage.cachedTokens));
}
