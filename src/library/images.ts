/**
 * Images as an application holds them — bytes, a file path, a `data:` URI or a URL — turned into the
 * `image_url` a chat-completion request carries. Bytes and files become data URIs here (so the request is an
 * ordinary Mistral body, the same for a local model and a remote server); http(s) URLs travel as they are and
 * are fetched when the prompt is prepared, with the server's size, time and address rules.
 */
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_IMAGE_BYTES, fileToDataUri, imageMimeType } from '../engine/fetchers.js';
import type { ImageFetcher } from '../engine/prepare.js';
import { ImageError } from '../image/errors.js';
import { remoteImageFetcher } from '../server/remote-images.js';
import { InvalidRequestError } from './errors.js';

/** An image: encoded bytes (PNG, JPEG, WebP, …), a file path, a `data:` URI, an http(s) URL or a `file:` URL. */
export type ImageSource = Uint8Array | string | URL;

export interface ImageRules {
  /** Let http(s) image URLs reach loopback and private addresses (off: an app forwarding user URLs is safe). */
  readonly allowPrivateImageUrls?: boolean;
}

export async function toImageUrl(source: ImageSource): Promise<string> {
  if (source instanceof Uint8Array) {
    if (source.byteLength > DEFAULT_MAX_IMAGE_BYTES)
      throw new InvalidRequestError(
        `image is larger than the ${DEFAULT_MAX_IMAGE_BYTES}-byte limit`,
        'too_large',
      );
    const bytes = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    return `data:${imageMimeType(bytes)};base64,${bytes.toString('base64')}`;
  }
  const text = source instanceof URL ? source.href : source;
  if (/^(data|https?):/i.test(text)) return text;
  const path = /^file:/i.test(text) ? fileURLToPath(text) : text;
  try {
    return await fileToDataUri(path);
  } catch (err) {
    if (err instanceof ImageError) throw err; // empty or too large: the message names the file
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new InvalidRequestError(`cannot read image "${path}" (${code})`, 'image_not_readable', [], {
      cause: err,
    });
  }
}

/** What fetches an http(s) image when a prompt is prepared (data URIs are decoded in place). */
export function imageFetcher(rules: ImageRules = {}): ImageFetcher {
  return remoteImageFetcher({ allowPrivate: rules.allowPrivateImageUrls ?? false });
}
