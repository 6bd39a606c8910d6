/** A small BMP decoder (libvips in sharp's prebuilt binaries has no BMP loader): BI_RGB 8/24/32-bit. */
import { ImageError } from './errors.js';

export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
  readonly data: Uint8Array;
}

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

export function decodeBmp(bytes: Uint8Array, maxPixels: number): RgbaImage {
  if (bytes.length < 54) throw new ImageError('truncated', 'BMP file is truncated (header incomplete)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  const width = view.getInt32(18, true);
  const rawHeight = view.getInt32(22, true);
  const bpp = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  const height = Math.abs(rawHeight);
  if (width <= 0 || height === 0) throw new ImageError('empty_image', 'BMP image has no pixels');
  if (width * height > maxPixels)
    throw new ImageError(
      'too_many_pixels',
      `BMP image has ${width}×${height} pixels, more than the limit of ${maxPixels}`,
    );
  if (compression !== 0 || ![8, 24, 32].includes(bpp))
    throw new ImageError(
      'unsupported_format',
      `BMP with ${bpp} bits per pixel and compression ${compression} is not supported`,
    );
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + stride * height > bytes.length)
    throw new ImageError('truncated', 'BMP file is truncated (pixel data incomplete)');
  const palette = bpp === 8 ? bytes.subarray(14 + headerSize, dataOffset) : null;
  const channels = bpp === 32 ? 4 : 3;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const srcRow = dataOffset + (rawHeight > 0 ? height - 1 - y : y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (palette) {
        const p = bytes[srcRow + x]! * 4;
        out[o] = palette[p + 2] ?? 0;
        out[o + 1] = palette[p + 1] ?? 0;
        out[o + 2] = palette[p] ?? 0;
      } else {
        const s = srcRow + x * (bpp / 8);
        out[o] = bytes[s + 2]!;
        out[o + 1] = bytes[s + 1]!;
        out[o + 2] = bytes[s]!;
        if (channels === 4) out[o + 3] = bytes[s + 3]!;
      }
    }
  }
  return { width, height, channels, data: out };
}
