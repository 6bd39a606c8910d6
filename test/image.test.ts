import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import {
  decodeImage,
  ImageError,
  imageBytesFromDataUri,
  preprocessImage,
  targetPatchGrid,
} from '../src/image/index.js';
import { imageTokenLayout } from '../src/chat/index.js';
import { fixturePath, loadGoldens, readF32 } from './helpers/fixtures.js';

const goldens = loadGoldens();

async function expectImageError(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: Error) => {
    assert.ok(err instanceof ImageError, `expected ImageError, got ${err}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('image preprocessing goldens', () => {
  for (const g of goldens.images) {
    it(`${g.image}: grid and pixels within 5e-4`, async () => {
      const out = await preprocessImage(readFileSync(fixturePath(g.image)));
      assert.deepEqual([out.rows, out.cols], [g.rows, g.cols]);
      assert.equal(out.rows * (out.cols + 1), g.tokens);
      const golden = readF32(g.pixels.file);
      let maxDiff = 0;
      for (let i = 0; i < golden.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(out.pixels[i]! - golden[i]!));
      assert.ok(maxDiff <= 5e-4, `max abs pixel diff ${maxDiff}`);
    });
  }
});

describe('target size', () => {
  it('follows the spec examples (round-half-even, ceil to patches, no upscaling)', () => {
    assert.deepEqual(targetPatchGrid(1024, 1024), { rows: 64, cols: 64 });
    assert.deepEqual(targetPatchGrid(200, 300), { rows: 19, cols: 13 });
    assert.deepEqual(targetPatchGrid(2048, 1536), { rows: 48, cols: 64 });
    assert.deepEqual(targetPatchGrid(4096, 2691), { rows: 43, cols: 64 });
    assert.deepEqual(targetPatchGrid(10, 10), { rows: 1, cols: 1 });
  });

  it('lays out image tokens with [IMG_BREAK] between rows and [IMG_END] last', () => {
    assert.deepEqual(imageTokenLayout(3, 2), [10, 10, 12, 10, 10, 12, 10, 10, 13]);
    assert.deepEqual(imageTokenLayout(1, 1), [10, 13]);
  });
});

describe('decoding', () => {
  it('composites transparency onto white', async () => {
    const raw = Buffer.from([255, 0, 0, 0, 0, 0, 255, 128, 10, 20, 30, 255, 0, 0, 0, 255]);
    const png = await sharp(raw, { raw: { width: 2, height: 2, channels: 4 } })
      .png()
      .toBuffer();
    const { rgb } = await decodeImage(png);
    assert.deepEqual([...rgb], [255, 255, 255, 127, 127, 255, 10, 20, 30, 0, 0, 0]);
  });

  it('expands grayscale and reads JPEG, WebP and the first GIF frame', async () => {
    const gray = await sharp(Buffer.from([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } })
      .png()
      .toBuffer();
    assert.deepEqual([...(await decodeImage(gray)).rgb].slice(0, 6), [0, 0, 0, 100, 100, 100]);
    const base = sharp({
      create: { width: 8, height: 6, channels: 3, background: { r: 200, g: 50, b: 10 } },
    });
    for (const encoded of [
      await base.clone().jpeg().toBuffer(),
      await base.clone().webp({ lossless: true }).toBuffer(),
      await base.clone().gif().toBuffer(),
    ]) {
      const img = await decodeImage(encoded);
      assert.deepEqual([img.width, img.height], [8, 6]);
      assert.ok(Math.abs(img.rgb[0]! - 200) < 8 && Math.abs(img.rgb[2]! - 10) < 12);
    }
  });

  it('reads uncompressed BMP', async () => {
    // 2×1 24-bit bottom-up BMP: a red and a blue pixel.
    const bmp = Buffer.alloc(54 + 8);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(bmp.length, 2);
    bmp.writeUInt32LE(54, 10);
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(2, 18);
    bmp.writeInt32LE(1, 22);
    bmp.writeUInt16LE(1, 26);
    bmp.writeUInt16LE(24, 28);
    Buffer.from([0, 0, 255, 255, 0, 0]).copy(bmp, 54);
    assert.deepEqual([...(await decodeImage(bmp)).rgb], [255, 0, 0, 0, 0, 255]);
  });
});

describe('bad images', () => {
  const png = readFileSync(fixturePath(goldens.images[0].image));

  it('a truncated file', async () => {
    await expectImageError(
      preprocessImage(png.subarray(0, Math.floor(png.length / 2))),
      'truncated',
      /truncated or corrupt/,
    );
  });

  it('bytes that are not an image, and an empty buffer', async () => {
    await expectImageError(preprocessImage(Buffer.from('hello, I am text')), 'not_an_image', /not an image/);
    await expectImageError(preprocessImage(Buffer.alloc(0)), 'empty_image', /0 bytes/);
  });

  it('an unsupported format', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>',
    );
    await assert.rejects(
      preprocessImage(svg),
      (err: Error) => err instanceof ImageError && /not supported|not an image/.test(err.message),
    );
  });

  it('a decompression bomb (pixel limit checked before decoding)', async () => {
    const big = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    assert.ok(big.length < 200_000, 'compresses small');
    await expectImageError(
      preprocessImage(big, { maxPixels: 1_000_000 }),
      'too_many_pixels',
      /4000×4000 pixels, more than the limit/,
    );
  });

  it('bad data URIs and oversized ones', () => {
    assert.throws(() => imageBytesFromDataUri('data:image/png,rawtext', 100), /base64/);
    assert.throws(() => imageBytesFromDataUri('data:image/png;base64,@@@', 100), /not valid base64/);
    assert.throws(() => imageBytesFromDataUri('http://x', 100), /not a valid data: URI/);
    assert.throws(
      () => imageBytesFromDataUri(`data:image/png;base64,${'A'.repeat(400)}`, 100),
      /larger than the 100-byte limit/,
    );
    assert.deepEqual(
      [...imageBytesFromDataUri(`data:image/png;base64,${png.toString('base64')}`, 1e6)],
      [...png],
    );
  });
});
