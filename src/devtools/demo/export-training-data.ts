/**
 * Writes the demo model's training data for the trainer (training/demo/train.py): every item rendered to PNG
 * with sharp, decoded and tokenised by the engine's own code (so training sees exactly the engine's inputs),
 * then stored flat:
 *   images.u8   — HWC RGB bytes of every picture, back to back
 *   tokens.i32  — prompt + answer + EOS ids of every item, back to back
 *   labels.u8   — per picture, one class per 16-px patch (src/demo/patch-labels.ts), for the auxiliary loss
 *   centres.u8  — per picture, 1 on the patch holding each shape's centre, else 0 (same offsets as labels.u8)
 *   index.jsonl — one line per item: {task, image, height, width, labels, tokens, length, answerStart}
 * and `goldens-input.json`: a few held-out items with the engine's exact float32 pixels, for trainer goldens.
 */
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { encodeChat, validateChatRequest } from '../../chat/index.js';
import { decodeImage, preprocessImage, type RgbImage, targetPatchGrid } from '../../image/index.js';
import { loadTokenizer, SpecialId, type Tokenizer } from '../../tokenizer/index.js';
import {
  heldOutItems,
  trainingItems,
  TRAINING_STAGES,
  type DemoItem,
  type TrainingStage,
} from '../../demo/dataset.js';
import { DEMO_MODEL } from '../../demo/embedded-model.js';
import { demoMessages, scenePng } from '../../demo/render.js';
import { PATCH_CLASSES, patchLabels, shapeCentres } from '../../demo/patch-labels.js';
import { writeDemoTekken } from './demo-tokenizer.js';

export interface EncodedItem {
  ids: number[];
  /** Index in `ids` of the first answer token (loss is taken from here). */
  answerStart: number;
  png: Uint8Array | null;
  /** The picture decoded as the engine decodes it (null without one). */
  rgb: RgbImage | null;
}

/** An item as the engine would see it: prompt ids (image tokens laid out) + answer ids + EOS. */
export async function encodeDemoItem(item: DemoItem, tokenizer: Tokenizer): Promise<EncodedItem> {
  const png = item.scene ? await scenePng(item.scene) : null;
  const rgb = png ? await decodeImage(png) : null;
  const grids = [];
  if (rgb) {
    const { width, height } = rgb;
    const grid = targetPatchGrid(width, height, 1024, 16);
    if (grid.cols * 16 !== width || grid.rows * 16 !== height)
      throw new Error(`demo picture ${width}×${height} is not a whole number of 16-px patches`);
    grids.push(grid);
  }
  const request = validateChatRequest({ model: DEMO_MODEL, messages: demoMessages(item, png) });
  const prompt = encodeChat(request, tokenizer, grids).ids;
  const ids = [...prompt, ...tokenizer.encode(item.answer), SpecialId.EOS];
  return { ids, answerStart: prompt.length, png, rgb };
}

/** How many items are rendered at once: sharp renders and decodes on libuv's pool, so one item at a time left
 *  a core idle (2000 items: 11.5 → 7.4 s on 2 cores; the files are byte for byte the same). */
const RENDER_AHEAD = 8;

/** The items encoded, several in flight, yielded in the generator's order (the files are the same as one at a
 *  time). */
async function* inOrder(
  items: Iterable<DemoItem>,
  tokenizer: Tokenizer,
): AsyncGenerator<{ item: DemoItem; encoded: EncodedItem }> {
  const pending: Promise<{ item: DemoItem; encoded: EncodedItem }>[] = [];
  const start = (item: DemoItem) => {
    const encoded = encodeDemoItem(item, tokenizer).then((result) => ({ item, encoded: result }));
    // A later item's failure is reported when its turn comes (awaited in order), not as an unhandled rejection.
    encoded.catch(() => {});
    return encoded;
  };
  for (const item of items) {
    pending.push(start(item));
    if (pending.length >= RENDER_AHEAD) yield await pending.shift()!;
  }
  while (pending.length > 0) yield await pending.shift()!;
}

async function main(): Promise<void> {
  const [out, modelDir, countArg, stageArg = 'base'] = process.argv.slice(2);
  const stages = Object.keys(TRAINING_STAGES);
  if (!out || !modelDir)
    throw new Error(`usage: export-training-data OUT_DIR MODEL_DIR [COUNT] [${stages.join('|')}]`);
  if (!(stageArg in TRAINING_STAGES))
    throw new Error(`stage must be one of ${stages.join(', ')}, got ${stageArg}`);
  const stage = stageArg as TrainingStage;
  const count = Number(countArg ?? 48_000);
  mkdirSync(out, { recursive: true });
  mkdirSync(modelDir, { recursive: true });
  const tekken = join(modelDir, 'tekken.json');
  writeDemoTekken(tekken);
  const tokenizer = loadTokenizer(tekken);
  const images = createWriteStream(join(out, 'images.u8'));
  const tokens = createWriteStream(join(out, 'tokens.i32'));
  const index = createWriteStream(join(out, 'index.jsonl'));
  const labels = createWriteStream(join(out, 'labels.u8'));
  const centres = createWriteStream(join(out, 'centres.u8'));
  let imageOffset = 0;
  let labelOffset = 0;
  let tokenOffset = 0;
  let done = 0;
  const started = Date.now();
  for await (const { item, encoded } of inOrder(trainingItems(count, 0, heldOutItems(), stage), tokenizer)) {
    let height = 0;
    let width = 0;
    let patches = 0;
    if (encoded.rgb && item.scene) {
      ({ height, width } = encoded.rgb);
      if (!images.write(encoded.rgb.rgb)) await once(images, 'drain');
      const classes = patchLabels(item.scene);
      patches = classes.length;
      if (!labels.write(classes)) await once(labels, 'drain');
      if (!centres.write(shapeCentres(item.scene))) await once(centres, 'drain');
    }
    if (!tokens.write(new Uint8Array(Int32Array.from(encoded.ids).buffer))) await once(tokens, 'drain');
    index.write(
      `${JSON.stringify({ task: item.task, image: imageOffset, height, width, labels: labelOffset, tokens: tokenOffset, length: encoded.ids.length, answerStart: encoded.answerStart })}\n`,
    );
    imageOffset += height * width * 3;
    labelOffset += patches;
    tokenOffset += encoded.ids.length;
    if (++done % 2000 === 0)
      process.stderr.write(`\r${done}/${count} items (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  await Promise.all(
    [images, tokens, index, labels, centres].map((s) => new Promise((resolve) => s.end(resolve))),
  );
  writeFileSync(join(out, 'meta.json'), JSON.stringify({ items: done, patchClasses: PATCH_CLASSES }));
  process.stderr.write(`\n${done} training items → ${out}\n`);

  // Golden inputs: one held-out item of each task, with the engine's exact preprocessed pixels.
  const golden = [];
  const heldOut = heldOutItems();
  for (const task of ['count', 'position', 'text', 'receipt', 'greeting'] as const) {
    const item = heldOut.find((i) => i.task === task)!;
    const encoded = await encodeDemoItem(item, tokenizer);
    const pre = encoded.png ? await preprocessImage(encoded.png) : null;
    golden.push({
      task,
      question: item.question,
      ids: encoded.ids.slice(0, encoded.answerStart),
      image: pre ? { rows: pre.rows, cols: pre.cols, pixels: Array.from(pre.pixels) } : null,
    });
  }
  writeFileSync(join(out, 'goldens-input.json'), JSON.stringify(golden));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
