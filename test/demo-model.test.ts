/**
 * The embedded demo model (models/pixtral-demo): loaded through the normal checkpoint loader, it reproduces the
 * trainer's logits, answers the held-out questions above the thresholds of issue #10, finishes schema-constrained
 * receipts, and is what the CLI uses when no model is named.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEMO_MODEL, demoModelDir } from '../src/demo/embedded-model.js';
import {
  heldOutItems,
  sceneKey,
  trainingItems,
  demoItem,
  TRAINING_STAGES,
  type TrainingStage,
} from '../src/demo/dataset.js';
import { evaluateDemo, type DemoEvalResult } from '../src/demo/evaluate.js';
import { scenePng } from '../src/demo/render.js';
import { patchLabels, shapeCentres } from '../src/demo/patch-labels.js';
import { sideOfPair } from '../src/demo/scenes.js';
import { SafetensorsFile } from '../src/checkpoint/index.js';
import { encodeDemoItem } from '../src/devtools/demo/export-training-data.js';
import { loadModel as loadEngineModel } from '../src/engine/load-model.js';
import { promptLogits } from '../src/engine/probes.js';
import { preprocessImage } from '../src/image/index.js';
import { loadModel, type Model } from '../src/index.js';
import { loadTokenizer } from '../src/tokenizer/index.js';
import { validator } from './helpers/ajv.js';
import { pixtral } from './helpers/cli.js';
import { assertOneLineFailure } from './helpers/cli-failure.js';
import { scratchDir } from './helpers/scratch.js';

const DIR = demoModelDir();
const RECEIPT_SCHEMA = JSON.parse(readFileSync('examples/schemas/demo-receipt.json', 'utf8')) as Record<
  string,
  unknown
>;

interface TrainerGoldens {
  cases: { task: string; question: string; ids: number[]; argmax: number; logits: number[] }[];
}

describe('the embedded demo model', () => {
  it('is a small Mistral-layout checkpoint whose every matrix width is a multiple of 256', () => {
    const bytes = readdirSync(DIR).reduce((sum, f) => sum + statSync(join(DIR, f)).size, 0);
    assert.ok(bytes <= 15_000_000, `models/pixtral-demo is ${bytes} bytes`);
    const file = SafetensorsFile.open(join(DIR, 'consolidated.safetensors'));
    try {
      const matrices = [...file.tensors].filter(([, info]) => info.shape.length >= 2);
      assert.ok(matrices.length > 20);
      for (const [name, info] of matrices) {
        const [, ...inner] = info.shape;
        const width = inner.reduce((a, b) => a * b, 1);
        assert.equal(width % 256, 0, `${name}: row width ${width}`);
        assert.equal(info.dtype, 'BF16');
      }
    } finally {
      file.close();
    }
  });

  it('ships a real tekken.json: the 1000 special ids, the first Tekken ranks, byte-level BPE for any text', () => {
    const tokenizer = loadTokenizer(join(DIR, 'tekken.json'));
    assert.equal(tokenizer.vocabSize, 4096);
    for (const text of ['Extract the items and total as JSON.', 'Grüße, 東京 🚀 {"total": 23.67}']) {
      const ids = tokenizer.encode(text);
      assert.ok(ids.every((id) => id >= 1000 && id < 4096));
      assert.equal(tokenizer.decode(ids), text);
    }
  });

  it('the training split never shows a held-out picture, and items are the same on every run', () => {
    const heldOut = heldOutItems();
    const keys = new Set(heldOut.map((item) => item.scene && sceneKey(item.scene)));
    for (const item of trainingItems(3000, 0, heldOut))
      assert.ok(!item.scene || !keys.has(sceneKey(item.scene)));
    assert.deepEqual(demoItem('receipt', 42), demoItem('receipt', 42));
    assert.deepEqual(heldOutItems(5), heldOutItems(5));
  });

  it('every training stage draws pictures of its own, not the ones an earlier stage trained on', () => {
    const heldOut = heldOutItems();
    // Words and numbers have few pictures (a word × a layout), so any two samples share some; shapes and receipts
    // have millions, and a stage that reused another's seeds would share most of them.
    const pictures = (stage: TrainingStage) =>
      [...trainingItems(2000, 0, heldOut, stage)].flatMap((item) =>
        item.scene && item.task !== 'text' ? [sceneKey(item.scene)] : [],
      );
    const seen = new Set<string>();
    for (const stage of Object.keys(TRAINING_STAGES) as TrainingStage[]) {
      const own = pictures(stage);
      const shared = own.filter((key) => seen.has(key)).length;
      assert.ok(
        shared <= own.length / 100,
        `${stage}: ${shared} of ${own.length} pictures seen in an earlier stage`,
      );
      for (const key of own) seen.add(key);
    }
  });

  it("a position answer's side is what the picture shows: the pair lies along the axis it is further apart on", () => {
    for (let seed = 0; seed < 400; seed++) {
      const item = demoItem('position', seed);
      assert.ok(item.truth.task === 'position' && item.scene?.type === 'shapes');
      const [a, b] = item.scene.shapes;
      const truth = item.truth;
      const [shape, other] = a!.colour === truth.colour && a!.kind === truth.kind ? [a!, b!] : [b!, a!];
      assert.equal(sideOfPair(shape, other), truth.side, `seed ${seed}`);
    }
  });

  it("the trainer's patch targets: one centre mark per shape, on a patch labelled as a shape", () => {
    for (let seed = 0; seed < 200; seed++) {
      const item = demoItem('count', seed);
      assert.ok(item.scene?.type === 'shapes' && item.truth.task === 'count');
      const cols = item.scene.width / 16;
      const labels = patchLabels(item.scene);
      const centres = shapeCentres(item.scene);
      assert.equal(centres.length, labels.length);
      const marked = [...centres.keys()].filter((i) => centres[i] === 1);
      assert.equal(marked.length, item.truth.count, `seed ${seed}`);
      for (const s of item.scene.shapes) {
        const at = Math.floor(s.y / 16) * cols + Math.floor(s.x / 16);
        assert.equal(centres[at], 1);
        assert.ok(labels[at]! >= 1 && labels[at]! <= 120, `seed ${seed}: centre patch label ${labels[at]}`);
      }
    }
    for (const task of ['text', 'receipt'] as const)
      assert.ok(shapeCentres(demoItem(task, 7).scene!).every((v) => v === 0));
  });

  for (const kind of ['reference', 'native'] as const) {
    it(`the ${kind} backend reproduces the trainer's logits on held-out inputs`, async () => {
      const goldens = JSON.parse(
        readFileSync('training/demo/results/trainer-goldens.json', 'utf8'),
      ) as TrainerGoldens;
      const loaded = loadEngineModel(DIR, { backend: { backend: kind } });
      const heldOut = heldOutItems();
      for (const golden of goldens.cases) {
        const item = heldOut.find((i) => i.task === golden.task && i.question === golden.question)!;
        const encoded = await encodeDemoItem(item, loaded.tokenizer);
        // The generator, renderer and tokenizer give the trainer's exact prompt ids.
        assert.deepEqual(encoded.ids.slice(0, encoded.answerStart), golden.ids);
        const images = encoded.png ? [await preprocessImage(encoded.png)] : [];
        const logits = promptLogits(loaded.model, golden.ids, images);
        let maxDiff = 0;
        for (let i = 0; i < logits.length; i++)
          maxDiff = Math.max(maxDiff, Math.abs(logits[i]! - golden.logits[i]!));
        assert.ok(maxDiff < 2e-3, `${golden.task}: max |Δlogit| ${maxDiff}`);
        assert.equal(logits.indexOf(Math.max(...logits)), golden.argmax);
      }
    });
  }

  describe('answers', () => {
    let model: Model;
    let result: DemoEvalResult;
    before(async () => {
      model = await loadModel(DEMO_MODEL, { onWarning: () => {} });
      result = await evaluateDemo(model, { perTask: 60 });
    });
    after(() => model.close());

    // Floors of the shipped model (training/demo/results/eval.txt: count 95.0, colour 100, position 96.7, text
    // 95.0, receipt totals 98.3, greeting 100, shapes 88.3): issue #10's targets (95 / 95 / 95 / 90 on count,
    // colour, position and receipt totals) minus 5 points, or the measured accuracy minus 5 where that is higher.
    const THRESHOLDS: Record<string, number> = {
      count: 90,
      colour: 95,
      position: 90,
      text: 90,
      receipt: 95,
      greeting: 95,
      shapes: 80,
    };
    for (const [task, threshold] of Object.entries(THRESHOLDS)) {
      it(`${task}: held-out accuracy ≥ ${threshold}%`, () => {
        const row = result.tasks.find((t) => t.task === task)!;
        assert.ok(row.items >= (task === 'greeting' ? 8 : 50));
        const accuracy = (100 * row.correct) / row.items;
        const wrong = result.mistakes.filter((m) => m.task === task).slice(0, 3);
        assert.ok(
          accuracy >= threshold,
          `${task} ${accuracy.toFixed(1)}% < ${threshold}%: ${JSON.stringify(wrong)}`,
        );
      });
    }

    it('with a json_schema response format every held-out receipt finishes and validates', async () => {
      const valid = validator(RECEIPT_SCHEMA);
      const receipts = heldOutItems(60).filter((i) => i.task === 'receipt');
      let rightTotals = 0;
      for (const item of receipts) {
        const answer = await model
          .chat({
            messages: item.question,
            images: [await scenePng(item.scene!)],
            responseFormat: { type: 'json_schema', schema: RECEIPT_SCHEMA },
            temperature: 0,
            maxTokens: 200,
          })
          .result();
        assert.equal(answer.finishReason, 'stop', answer.text);
        const parsed = JSON.parse(answer.text) as { total: number };
        assert.equal(valid(parsed), null, answer.text);
        if (item.truth.task === 'receipt' && Math.round(parsed.total * 100) === item.truth.totalCents)
          rightTotals++;
      }
      assert.ok(
        rightTotals / receipts.length >= THRESHOLDS.receipt! / 100,
        `${rightTotals}/${receipts.length} right totals`,
      );
    });
  });

  it('`pixtral eval --task demo` prints a table per precision and plots it', () => {
    const plot = join(scratchDir('pixtral-eval-'), 'eval.png');
    const result = pixtral([
      'eval',
      '--task',
      'demo',
      '--per-task',
      '4',
      '--quant',
      'none,q4',
      '--plot',
      plot,
    ]);
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[0]!, /^task\s+items\s+full\s+q4$/);
    for (const task of ['count', 'colour', 'position', 'text', 'receipt total', 'greeting', 'shapes'])
      assert.ok(
        lines.some((l) => new RegExp(`^${task}\\s+\\d+\\s+[\\d.]+%\\s+[\\d.]+%$`).test(l)),
        `${task} row in\n${result.stdout}`,
      );
    assert.ok(statSync(plot).size > 1000);
    assertOneLineFailure(pixtral(['eval', '--task', 'mmlu']), /--task must be demo/, 2);
  });

  it('`pixtral run` without --model uses the demo model, says so once, and answers the shipped example', () => {
    const truth = JSON.parse(readFileSync('examples/demo/truth.json', 'utf8')) as Record<
      string,
      { answer: string }
    >;
    const result = pixtral([
      'run',
      '--image',
      'examples/demo/shapes.png',
      '--temperature',
      '0',
      'How many shapes are in this picture?',
    ]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr.match(/embedded demo model pixtral-demo/g)?.length, 1, result.stderr);
    const count = /(\d+) shapes/.exec(truth['shapes.png']!.answer)![1]!;
    assert.match(result.stdout, new RegExp(`\\b${count}\\b`));
  });
});
