/** Demo scenes → PNG bytes (librsvg through sharp), and the chat messages that ask an item's question. */
import sharp from 'sharp';
import type { DemoItem } from './dataset.js';
import { sceneSvg, type Scene } from './scenes.js';

export async function scenePng(scene: Scene): Promise<Uint8Array> {
  const png = await sharp(Buffer.from(sceneSvg(scene)))
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/** A user turn with the picture first, then the question — the order the model was trained on. */
export function demoMessages(item: DemoItem, png: Uint8Array | null): { role: 'user'; content: unknown }[] {
  if (!png) return [{ role: 'user', content: item.question }];
  return [
    {
      role: 'user',
      content: [
        { type: 'image_url', image_url: pngDataUri(png) },
        { type: 'text', text: item.question },
      ],
    },
  ];
}
