/**
 * Decoding to 8-bit RGB the way mistral-common (PIL) does: an RGB image is used as is; every other mode goes
 * through RGBA and is composited onto white — out = round((fg·a + 255·(255 − a)) / 255). No EXIF rotation.
 */
import sharp from 'sharp';
import { decodeBmp, isBmp, type RgbaImage } from './bmp.js';
import { ImageError } from './errors.js';

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** HWC, 3 channels. */
  readonly rgb: Uint8Array;
}

/** 50 megapixels: far above what a 1024-px model input needs, far below a decompression bomb. */
export const DEFAULT_MAX_PIXELS = 50_000_000;

const FORMATS = new Set(['png', 'jpeg', 'webp', 'gif']);

export async function decodeImage(bytes: Uint8Array, maxPixels = DEFAULT_MAX_PIXELS): Promise<RgbImage> {
  if (bytes.length === 0) throw new ImageError('empty_image', 'image is empty (0 bytes)');
  const decoded = isBmp(bytes) ? decodeBmp(bytes, maxPixels) : await decodeWithSharp(bytes, maxPixels);
  return toRgb(decoded);
}

async function decodeWithSharp(
  bytes: Uint8Array,
  maxPixels: number,
): Promise<RgbaImage | { width: number; height: number; channels: 1 | 2; data: Uint8Array }> {
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new ImageError(
      'not_an_image',
      'the data is not an image in a supported format (PNG, JPEG, WebP, GIF, BMP)',
    );
  }
  if (!meta.format || !FORMATS.has(meta.format))
    throw new ImageError(
      'unsupported_format',
      `image format "${meta.format ?? 'unknown'}" is not supported (PNG, JPEG, WebP, GIF, BMP)`,
    );
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width === 0 || height === 0) throw new ImageError('empty_image', 'image has no pixels');
  if (width * height > maxPixels)
    throw new ImageError(
      'too_many_pixels',
      `image has ${width}×${height} pixels, more than the limit of ${maxPixels}`,
    );
  try {
    let pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated', pages: 1, page: 0 });
    if (meta.space === 'cmyk') pipeline = pipeline.toColourspace('srgb');
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      channels: info.channels as 1 | 2 | 3 | 4,
      data,
    } as RgbaImage;
  } catch (err) {
    const message = (err as Error).message;
    if (/truncat|premature|unexpected end|corrupt|incomplete|read error|damaged/i.test(message))
      throw new ImageError('truncated', `image file is truncated or corrupt (${message.split('\n')[0]})`);
    throw new ImageError('not_an_image', `image could not be decoded (${message.split('\n')[0]})`);
  }
}

function toRgb(image: { width: number; height: number; channels: number; data: Uint8Array }): RgbImage {
  const { width, height, channels, data } = image;
  if (channels === 3) return { width, height, rgb: data };
  const pixels = width * height;
  const rgb = new Uint8Array(pixels * 3);
  const hasAlpha = channels === 2 || channels === 4;
  const colour = channels >= 3;
  for (let i = 0; i < pixels; i++) {
    const a = hasAlpha ? data[i * channels + channels - 1]! : 255;
    for (let c = 0; c < 3; c++) {
      const fg = data[i * channels + (colour ? c : 0)]!;
      // PIL's exact DIV255 rounding of fg·a + 255·(255 − a).
      const v = fg * a + 255 * (255 - a) + 128;
      rgb[i * 3 + c] = ((v >> 8) + v) >> 8;
    }
  }
  return { width, height, rgb };
}
