/**
 * Every golden chat request of the fixture set renders to exactly the golden prompt ids, with both tokenizer
 * files. Nothing here is specific to one fixture set: cases, grids and ids all come from the goldens.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  encodeChat,
  imageUrlsInPromptOrder,
  normalizeChat,
  parsePyJson,
  renderPrompt,
  validateChatRequest,
  type ChatRequest,
  type ImageGrid,
} from '../src/chat/index.js';
import { loadTokenizer } from '../src/tokenizer/index.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';

const goldens = loadGoldens();
const tokenizers = [
  ['tekken.json', loadTokenizer(fixturePath(goldens.tokenizer.tekken))],
  ['HF tokenizer.json', loadTokenizer(fixturePath(goldens.model.hf, 'tokenizer.json'))],
] as const;
// Image sizing comes from the tokenizer file (`max_image_size`, `image_patch_size`), as in mistral-common.
const imageSettings = tokenizers[0][1].image!;

// ---- image grids without the image module: PNG header + the §3.2 target-size rule -------------------

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d !== 0.5) return Math.round(x);
  return f % 2 === 0 ? f : f + 1;
}

function gridFromSize(width: number, height: number, maxSize: number, patch: number): ImageGrid {
  const ratio = Math.max(width / maxSize, height / maxSize);
  const w = ratio > 1 ? roundHalfEven(width / ratio) : width;
  const h = ratio > 1 ? roundHalfEven(height / ratio) : height;
  return { rows: Math.floor((h - 1) / patch) + 1, cols: Math.floor((w - 1) / patch) + 1 };
}

function dataUriBytes(uri: string): Uint8Array {
  const m = /^data:[^,]*;base64,(.*)$/s.exec(uri);
  assert.ok(m, `expected a base64 data URI, got ${uri.slice(0, 40)}`);
  return Buffer.from(m[1]!, 'base64');
}

function pngGrid(bytes: Uint8Array): ImageGrid {
  const b = Buffer.from(bytes);
  assert.equal(b.toString('latin1', 12, 16), 'IHDR', 'fixture images are PNGs');
  const { maxImageSize, patchSize } = imageSettings;
  return gridFromSize(b.readUInt32BE(16), b.readUInt32BE(20), maxImageSize, patchSize);
}

type Preprocess = (
  bytes: Uint8Array,
  opts?: { maxImageSize: number; patchSize: number },
) => Promise<{ rows: number; cols: number }>;

/** The real image module when it is there (it may be written in parallel); else the PNG-header rule. */
async function gridFinder(): Promise<{ name: string; grid: (uri: string) => Promise<ImageGrid> }> {
  try {
    const specifier = '../src/image/index.js';
    const mod = (await import(specifier)) as { preprocessImage?: Preprocess };
    const pre = mod.preprocessImage;
    if (typeof pre === 'function') {
      return {
        name: 'preprocessImage',
        grid: async (uri) => {
          const { maxImageSize, patchSize } = imageSettings;
          const { rows, cols } = await pre(dataUriBytes(uri), { maxImageSize, patchSize });
          return { rows, cols };
        },
      };
    }
  } catch (e) {
    // Not written yet (the image module is developed in parallel); any other failure is a real error.
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
  }
  return { name: 'PNG header', grid: async (uri) => pngGrid(dataUriBytes(uri)) };
}

function loadRequest(rel: string): string {
  return readFileSync(fixturePath(rel), 'utf8');
}

describe('chat goldens', async () => {
  const finder = await gridFinder();
  const goldenCases: { name: string; request: string; ids: number[] }[] = goldens.chat;
  const cases = await Promise.all(
    goldenCases.map(async (c) => {
      const text = loadRequest(c.request);
      const request = validateChatRequest(parsePyJson(text));
      const conv = normalizeChat(request);
      const grids = await Promise.all(imageUrlsInPromptOrder(conv).map(finder.grid));
      return { ...c, text, request, conv, grids };
    }),
  );

  it('has chat goldens to check', () => assert.ok(cases.length > 0));

  for (const [tokName, tok] of tokenizers) {
    for (const c of cases) {
      it(`${c.name}: ${tokName} renders the golden ids (grids from ${finder.name})`, () => {
        const out = renderPrompt(c.conv, tok, c.grids);
        assert.deepEqual(out.ids, c.ids);
        assert.equal(out.images, c.grids.length);
      });
    }
  }

  it('a body from JSON.parse renders the same ids as one from parsePyJson', () => {
    const tok = tokenizers[0][1];
    for (const c of cases) {
      const plain = validateChatRequest(JSON.parse(c.text)) as ChatRequest;
      assert.deepEqual(encodeChat(plain, tok, c.grids).ids, c.ids, c.name);
    }
  });

  it('images are listed in prompt order, matching the logits goldens and the [IMG] token count', () => {
    const byName = new Map<string, { image_grids: ImageGrid[]; num_img_tokens: number }>(
      goldens.model.logits.map((l: { name: string }) => [l.name, l]),
    );
    for (const c of cases) {
      const expected = byName.get(c.name);
      const imgTokens = c.ids.filter((id) => id === 10).length;
      assert.equal(
        imgTokens,
        c.grids.reduce((s, g) => s + g.rows * g.cols, 0),
        c.name,
      );
      if (expected) {
        const pick = ({ rows, cols }: ImageGrid): ImageGrid => ({ rows, cols });
        assert.deepEqual(c.grids.map(pick), expected.image_grids.map(pick), c.name);
        assert.equal(imgTokens, expected.num_img_tokens, c.name);
      }
    }
  });

  it('the PNG-header grid rule agrees with the golden image grids', () => {
    for (const img of goldens.images) {
      const grid = pngGrid(readFileSync(fixturePath(img.file ?? img.image)));
      assert.deepEqual(grid, { rows: img.rows, cols: img.cols }, img.image);
    }
  });
});
