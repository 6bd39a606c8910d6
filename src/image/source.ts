/** Image bytes from a `data:` URI, with a size limit checked before decoding the base64. */
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
