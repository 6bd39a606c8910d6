/**
 * Validated request → prompt: decode the request's images in prompt order, render the token ids with each
 * image's patch grid, and fix the answer budget against the context — the one context check of a request.
 * The same path serves the CLI, the server (in-process, worker or upstream) and parity.
 */
import { encodeChat, imageUrlsInPromptOrder, normalizeChat } from '../chat/index.js';
import type { CompletionRequest } from '../chat/completion-request.js';
import type { ImageSettings } from '../checkpoint/index.js';
import { answerBudget, type GenerateOptions } from '../generate/sequence.js';
import { preprocessImage } from '../image/index.js';
import type { ImageInput } from '../model/vision-encoder.js';
import type { Tokenizer } from '../tokenizer/index.js';

export interface Prompt {
  readonly request: CompletionRequest;
  readonly ids: readonly number[];
  /** Preprocessed images in prompt order; their patches fill the [IMG] positions left to right. */
  readonly images: readonly ImageInput[];
  /** How to answer, with max_tokens fitted to the context (choice 0's seed; see {@link choiceOptions}). */
  readonly options: GenerateOptions;
}

/** Turns an image_url (data URI, or whatever the caller allows: http(s), files) into bytes. */
export type ImageFetcher = (url: string) => Promise<Uint8Array>;

/** What preparing needs of a model: its tokenizer, its image settings (null: no vision encoder), its context. */
export interface PromptRules {
  readonly tokenizer: Tokenizer;
  readonly image: ImageSettings | null;
  readonly maxContext: number;
}

export async function preparePrompt(
  request: CompletionRequest,
  rules: PromptRules,
  fetchImage: ImageFetcher,
): Promise<Prompt> {
  const urls = imageUrlsInPromptOrder(normalizeChat(request.chat));
  const image = rules.image;
  if (urls.length > 0 && !image)
    throw new Error('this model has no vision encoder: remove the images from the request');
  const images: ImageInput[] = [];
  for (const url of urls) {
    const bytes = await fetchImage(url);
    images.push(
      await preprocessImage(bytes, { maxImageSize: image!.maxImageSize, patchSize: image!.patchSize }),
    );
  }
  const { ids } = encodeChat(request.chat, rules.tokenizer, images);
  const { maxTokens, room } = answerBudget(ids.length, rules.maxContext, request.answer.maxTokens);
  return { request, ids, images, options: { ...request.answer, maxTokens, room } };
}

/** Choice i of a request samples with seed + i, so n choices differ but stay reproducible. */
export function choiceOptions(prompt: Prompt, choice: number, signal?: AbortSignal): GenerateOptions {
  const { sampling } = prompt.options;
  return {
    ...prompt.options,
    ...(sampling.seed !== undefined &&
      choice > 0 && { sampling: { ...sampling, seed: sampling.seed + choice } }),
    ...(signal && { signal }),
  };
}
