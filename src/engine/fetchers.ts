/** Image sources: data URIs always; local files only where the caller (the CLI) allows them. */
import { isBmp } from '../image/bmp.js';
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
  return `data:${imageMimeType(bytes)};base64,${bytes.toString('base64')}`;
}

/**
 * The media type a file's first bytes announce (PNG, JPEG, GIF, WebP, BMP), so a data URI written into a saved
 * request says what it holds — other services check it. Anything else is application/octet-stream.
 */
export function imageMimeType(bytes: Uint8Array): string {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  const ascii = (at: number, text: string) => [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0));
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (ascii(0, 'GIF8')) return 'image/gif';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'image/webp';
  if (isBmp(bytes)) return 'image/bmp';
  return 'application/octet-stream';
}
