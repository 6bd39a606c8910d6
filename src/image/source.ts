/** Image bytes from a `data:` URI or a local file, with a size limit checked before reading or decoding. */
import { readFile, stat } from 'node:fs/promises';
import { ImageError } from './errors.js';

export function imageBytesFromDataUri(uri: string, maxBytes: number): Buffer {
  const comma = uri.indexOf(',');
  if (!uri.startsWith('data:') || comma < 0)
    throw new ImageError('bad_data_uri', 'image URL is not a valid data: URI');
  const header = uri.slice(5, comma);
  if (!/;base64$/i.test(header))
    throw new ImageError('bad_data_uri', 'image data: URI must be base64-encoded (";base64,")');
  const payload = uri.slice(comma + 1).replace(/\s+/g, '');
  if (payload.length === 0) throw new ImageError('empty_image', 'image data: URI is empty');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload))
    throw new ImageError('bad_data_uri', 'image data: URI is not valid base64');
  if (Math.floor((payload.length * 3) / 4) > maxBytes)
    throw new ImageError('too_large', `image is larger than the ${maxBytes}-byte limit`);
  return Buffer.from(payload, 'base64');
}

/**
 * An image file's bytes. Checked here, by file name, because once the bytes travel as a data: URI an empty
 * file could only be reported as an empty URI the user never wrote. System errors (ENOENT…) pass through.
 */
export async function readImageFile(path: string, maxBytes: number): Promise<Buffer> {
  // A regular file is checked before it is read; a pipe or device (--image /dev/stdin) once it has been.
  const info = await stat(path);
  if (info.isFile()) checkFileSize(path, info.size, maxBytes);
  const bytes = await readFile(path);
  checkFileSize(path, bytes.length, maxBytes);
  return bytes;
}

function checkFileSize(path: string, size: number, maxBytes: number): void {
  if (size === 0) throw new ImageError('empty_image', `${path}: the file is empty`);
  if (size > maxBytes)
    throw new ImageError('too_large', `${path}: larger than the ${maxBytes}-byte image limit`);
}
