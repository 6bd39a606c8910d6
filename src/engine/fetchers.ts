/** Image sources: data URIs always; local files only where the caller (the CLI) allows them. */
import { imageBytesFromDataUri, readImageFile } from '../image/index.js';
import type { ImageFetcher } from './prepare.js';

/** 20 MB of encoded image is far more than a 1024-px picture needs. */
export const DEFAULT_MAX_IMAGE_BYTES = 20 * 1024 * 1024;

export function dataUriFetcher(maxBytes = DEFAULT_MAX_IMAGE_BYTES): ImageFetcher {
  return async (url) => {
    if (!url.startsWith('data:')) throw new UnsupportedImageUrlError(url);
    return imageBytesFromDataUri(url, maxBytes);
  };
}

export class UnsupportedImageUrlError extends Error {
  constructor(url: string) {
    super(
      `image URL "${url.slice(0, 60)}${url.length > 60 ? '…' : ''}" is not supported here (use a data: URI)`,
    );
    this.name = 'UnsupportedImageUrlError';
  }
}

/** Reads an image file into a data URI, so a CLI prompt becomes an ordinary chat-completion request. */
export async function fileToDataUri(path: string, maxBytes = DEFAULT_MAX_IMAGE_BYTES): Promise<string> {
  const bytes = await readImageFile(path, maxBytes);
  return `data:application/octet-stream;base64,${bytes.toString('base64')}`;
}
