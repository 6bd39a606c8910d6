/**
 * Images picked, dropped or pasted: read as data URLs, measured, and priced in prompt tokens by the engine's
 * own pure sizing code (bundled into the page), so the cost shown before sending is the cost charged.
 */
import { imageTokensForSize } from '../../src/chat/image-tokens.js';
import { storedSize } from './image-size.js';
import type { Attachment } from './request.js';

/** What the engine decodes (src/image/decode.ts); the file picker offers these. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/bmp'];

export async function readImage(
  file: File,
  sizing: { patchSize: number; maxImageSize: number } | null,
): Promise<Attachment> {
  if (!IMAGE_TYPES.includes(file.type))
    throw new Error(`${file.name || 'The file'} is not a PNG, JPEG, WebP, GIF or BMP image.`);
  const dataUrl = await new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(new Error(`${file.name} could not be read.`));
    reader.readAsDataURL(file);
  });
  const shown = await dimensions(dataUrl, file.name); // also proves the browser can decode it
  const { width, height } = storedSize(new Uint8Array(await file.arrayBuffer())) ?? shown;
  const tokens = sizing ? imageTokensForSize(width, height, sizing) : null;
  return { name: file.name || 'pasted image', dataUrl, bytes: file.size, width, height, tokens };
}

function dimensions(dataUrl: string, name: string): Promise<{ width: number; height: number }> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => reject(new Error(`${name || 'The image'} could not be decoded by the browser.`));
    img.src = dataUrl;
  });
}

/** The files among dropped or pasted items (anything but an image is refused by readImage, with a reason). */
export function droppedFiles(list: FileList | null | undefined): File[] {
  return list ? [...list] : [];
}
