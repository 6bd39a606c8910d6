/**
 * Request → prompt: validate the chat-completion body, normalise it, decode its images in prompt order, and
 * render the token ids with each image's patch grid. The same path serves the CLI, the server and parity.
 */
import {
  encodeChat,
  imageUrlsInPromptOrder,
  normalizeChat,
  validateChatRequest,
  type ChatRequest,
} from '../chat/index.js';
import { withSafePrompt } from '../chat/safe-prompt.js';
import type { ImageSettings } from '../checkpoint/index.js';
import { preprocessImage } from '../image/index.js';
import type { ImageInput } from '../model/vision-encoder.js';
import type { Tokenizer } from '../tokenizer/index.js';

export interface PreparedPrompt {
  readonly request: ChatRequest;
  readonly ids: number[];
  /** Preprocessed images in prompt order; their patches fill the [IMG] positions left to right. */
  readonly images: ImageInput[];
}

/** Turns an image_url (data URI, or whatever the caller allows: http(s), files) into bytes. */
export type ImageFetcher = (url: string) => Promise<Uint8Array>;

export async function preparePrompt(
  body: unknown,
  tokenizer: Tokenizer,
  image: ImageSettings | null,
  fetchImage: ImageFetcher,
): Promise<PreparedPrompt> {
  const request = withSafePrompt(validateChatRequest(body));
  const urls = imageUrlsInPromptOrder(normalizeChat(request));
  if (urls.length > 0 && !image)
    throw new Error('this model has no vision encoder: remove the images from the request');
  const images: ImageInput[] = [];
  for (const url of urls) {
    const bytes = await fetchImage(url);
    images.push(
      await preprocessImage(bytes, { maxImageSize: image!.maxImageSize, patchSize: image!.patchSize }),
    );
  }
  const { ids } = encodeChat(request, tokenizer, images);
  return { request, ids, images };
}
