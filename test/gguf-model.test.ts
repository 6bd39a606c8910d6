/**
 * Pixtral as GGUF: a model exported with `pixtral export --gguf` (llama.cpp's text model + mmproj pair, with
 * tekken.json) loads back through the normal loader — exactly the same logits at the source precision, close
 * ones at Q8_0 / Q4_0 — and a folder that cannot be a model says why.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Checkpoint } from '../src/checkpoint/index.js';
import { exportGguf } from '../src/checkpoint/gguf/gguf-export.js';
import { GgufCheckpoint, isGgufModel, withMmproj } from '../src/checkpoint/gguf/pixtral-gguf.js';
import { readGguf, tensorBytes } from '../src/checkpoint/gguf/gguf-file.js';
import { dequantize, quantize } from '../src/checkpoint/gguf/ggml-blocks.js';
import { ggmlTypeByName } from '../src/checkpoint/gguf/ggml-types.js';
import { loadNativeAddon, NativeFormat } from '../src/backend/native/addon.js';
import type { NativeWeight } from '../src/backend/native/native-weight.js';
import { NativeBackend } from '../src/backend/native/native-backend.js';
import {
  dequantize as dequantizeRows,
  emulateQuantizedMatmul,
  maxRelativeError,
  randomMatrix,
  rowBytes,
} from './helpers/kernels.js';
import { gguf, writeGguf } from '../src/checkpoint/gguf/gguf-writer.js';
import { resolveModel } from '../src/hub/resolve-model.js';
import { loadTokenizer } from '../src/tokenizer/index.js';
import { demoModelDir } from '../src/demo/embedded-model.js';
import { heldOutItems } from '../src/demo/dataset.js';
import { demoMessages, scenePng } from '../src/demo/render.js';
import { Engine } from '../src/engine/engine.js';
import { loadModel } from '../src/engine/load-model.js';
import { promptLogits } from '../src/engine/probes.js';
import { argmax } from '../src/generate/sampler.js';
import { pixtral } from './helpers/cli.js';
import { assertOneLineFailure } from './helpers/cli-failure.js';
import { prepare } from './helpers/engine.js';
import type { Prompt } from '../src/engine/prepare.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'pixtral-gguf-model-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const goldens = loadGoldens();
const reference = { backend: { backend: 'reference' as const } };

/** The logits after a few prompts (one with a picture) on a model location. */
async function logitsOf(location: string, prompts: readonly Prompt[]) {
  const { model } = loadModel(location, reference);
  return prompts.map((p) => promptLogits(model, p.ids, p.images));
}

describe('GGUF models', () => {
  it('round trip at the source precision: the same tensors and exactly the same logits', async () => {
    const source = fixturePath(goldens.model.consolidated);
    const out = join(dir, 'fixture');
    const checkpoint = Checkpoint.open(source);
    const written = exportGguf(checkpoint, checkpoint.tokenizerFile, out);
    checkpoint.close();
    assert.deepEqual(readdirSync(out).sort(), written.map((f) => f.split('/').pop()).sort());
    const text = readGguf(written[0]!);
    assert.equal(text.metadata.get('general.architecture')?.value, 'llama');
    assert.ok(text.tensors.some((t) => t.name === 'blk.0.attn_q.weight'));
    const mmproj = readGguf(written[1]!);
    assert.equal(mmproj.metadata.get('clip.projector_type')?.value, 'pixtral');
    assert.ok(mmproj.tensors.some((t) => t.name === 'v.token_embd.img_break'));

    const back = GgufCheckpoint.open(out);
    const original = Checkpoint.open(source);
    assert.deepEqual(back.config, original.config);
    assert.deepEqual(back.names().sort(), original.names().sort());
    for (const name of original.names())
      assert.deepEqual(back.readRaw(name).data, original.readRaw(name).data, name);
    original.close();

    const engine = Engine.load(source, reference);
    const g = goldens.model.generate.find((x: { ids: number[] }) => x.ids.includes(10));
    const { readFileSync } = await import('node:fs');
    const prompts = [
      await prepare(engine, JSON.parse(readFileSync(fixturePath(g.request), 'utf8'))),
      await prepare(engine, { messages: [{ role: 'user', content: 'Hello there.' }] }),
    ];
    const exact = await logitsOf(source, prompts);
    assert.deepEqual(await logitsOf(out, prompts), exact);

    // F16: the weights round to half precision; the logits stay within a small tolerance of the source's, and
    // the native f16 kernel agrees with the reference reading the same file.
    const half = join(dir, 'fixture-f16');
    const again = Checkpoint.open(source);
    exportGguf(again, again.tokenizerFile, half, { type: 'f16' });
    again.close();
    const f16 = await logitsOf(half, prompts);
    f16.forEach((logits, i) => {
      assert.equal(argmax(logits), argmax(exact[i]!), `F16 top-1, prompt ${i}`);
      assert.ok(maxRelativeError(logits, exact[i]!) < 1e-2, `F16: ${maxRelativeError(logits, exact[i]!)}`);
    });
    if (loadNativeAddon()) {
      const { model } = loadModel(half, { backend: { backend: 'native' } });
      prompts.forEach((p, i) => {
        const native = promptLogits(model, p.ids, p.images);
        assert.ok(
          maxRelativeError(native, f16[i]!) < 1e-4,
          `F16 native: ${maxRelativeError(native, f16[i]!)}`,
        );
      });
    }
  });

  it('Q8_0 and Q4_0 exports of the demo model agree with it (top-1 on held-out questions), on both backends', async () => {
    const demo = Engine.load(demoModelDir(), reference);
    const items = heldOutItems(6).filter((item) => item.scene);
    const prompts = [];
    for (const item of items)
      prompts.push(await prepare(demo, { messages: demoMessages(item, await scenePng(item.scene!)) }));
    const full = await logitsOf(demoModelDir(), prompts);
    const source = Checkpoint.open(demoModelDir());
    for (const [type, floor] of [
      ['q8_0', 0.95],
      ['q4_0', 0.8],
    ] as const) {
      const out = join(dir, `demo-${type}`);
      exportGguf(source, source.tokenizerFile, out, { type });
      const file = readGguf(join(out, `model-${type.toUpperCase()}.gguf`));
      assert.equal(file.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.type.name, type.toUpperCase());
      assert.equal(file.tensors.find((t) => t.name === 'blk.0.attn_norm.weight')?.type.name, 'F32');
      const quantized = await logitsOf(out, prompts);
      const agree = quantized.filter((l, i) => argmax(l) === argmax(full[i]!)).length / prompts.length;
      assert.ok(agree >= floor, `${type}: top-1 agreement ${agree}`);
      // The native backend runs the blocks as stored (q8/q4 rows, no float copy) and agrees with the reference
      // backend, which dequantizes the same blocks.
      const addon = loadNativeAddon();
      if (!addon) continue;
      const raw = GgufCheckpoint.open(out).readRaw('layers.0.attention.wq.weight');
      assert.equal(raw.ggml, type.toUpperCase());
      const weight = new NativeBackend(addon).weight(raw) as NativeWeight;
      // Rows become 16-row panels in place where the kernel level prefers them (the same bytes, rearranged).
      const expected =
        type === 'q8_0' ? [NativeFormat.Q8, NativeFormat.Q8P] : [NativeFormat.Q4, NativeFormat.Q4P];
      assert.ok(expected.includes(weight.format), `format ${weight.format}`);
      assert.equal(weight.data.byteLength, weight.rows * rowBytes(weight.format, weight.cols));
      const { model } = loadModel(out, { backend: { backend: 'native' } });
      if (type === 'q8_0') {
        // `pixtral quality --versus` scores a GGUF copy as stored against the model it came from.
        const report = pixtral(['quality', demoModelDir(), '--versus', out, '--json']);
        assert.equal(report.status, 0, report.stderr);
        const { top1Agreement, meanKl } = JSON.parse(report.stdout);
        assert.ok(top1Agreement >= 0.95 && meanKl < 5e-3, `Q8_0: top-1 ${top1Agreement}, KL ${meanKl}`);
      }
      prompts.forEach((p, i) => {
        const logits = promptLogits(model, p.ids, p.images);
        assert.equal(argmax(logits), argmax(quantized[i]!), `${type} native: top-1 of prompt ${i}`);
        assert.ok(
          maxRelativeError(logits, quantized[i]!) < 0.05,
          `${type} native: ${maxRelativeError(logits, quantized[i]!)}`,
        );
      });
    }
    source.close();
  });

  it('Q8_0 / Q4_0 blocks run on the native kernels as stored: rearranged into rows, never dequantized', async () => {
    const addon = loadNativeAddon();
    if (!addon) return;
    // The rearrangement is exact: the kernels on our rows compute the exact block arithmetic of ggml's blocks.
    for (const [name, format] of [
      ['Q8_0', NativeFormat.Q8],
      ['Q4_0', NativeFormat.Q4],
    ] as const) {
      const [tokens, k, n] = [3, 160, 37];
      const blocks = quantize(ggmlTypeByName(name)!, randomMatrix(n, k, 0.05));
      const rows = new Uint8Array(n * rowBytes(format, k));
      addon.repackGgml(format, blocks, n, k, rows);
      const x = randomMatrix(tokens, k);
      const y = new Float32Array(tokens * n);
      addon.matmul(format, x, tokens, k, rows, n, y);
      const ggmlValues = dequantize(ggmlTypeByName(name)!, blocks, n * k);
      const ours = dequantizeRows(format, rows, n, k);
      const oursValues = Float32Array.from(ours.values, (v, i) => v * ours.scales[Math.floor(i / 32)]!);
      assert.deepEqual(oursValues, ggmlValues, `${name}: the same numbers`);
      const exact = emulateQuantizedMatmul(x, tokens, k, dequantizeRows(format, rows, n, k), n);
      assert.ok(maxRelativeError(y, exact) < 1e-5, name);
    }
  });

  it('`pixtral export --gguf` writes a folder that `pixtral run --model` answers from', () => {
    const out = join(dir, 'cli');
    const exported = pixtral(['export', '--gguf', demoModelDir(), out]);
    assert.equal(exported.status, 0, exported.stderr);
    assert.match(exported.stdout, /model-BF16\.gguf/);
    assert.match(exported.stdout, /mmproj-BF16\.gguf/);
    const answer = pixtral(['run', '--model', out, '--max-tokens', '40', 'Hello!']);
    assert.equal(answer.status, 0, answer.stderr);
    assert.match(answer.stdout, /Pixtral demo/);
    assertOneLineFailure(
      pixtral(['export', '--gguf', demoModelDir(), out, '--type', 'q3_k']),
      /--type must be/,
      2,
    );
  });

  it('the text GGUF carries the Tekken vocabulary: the same ids as tekken.json, no tokenizer file needed', () => {
    const out = join(dir, 'vocabulary');
    const checkpoint = Checkpoint.open(fixturePath(goldens.model.consolidated));
    exportGguf(checkpoint, checkpoint.tokenizerFile, out);
    checkpoint.close();
    rmSync(join(out, 'tekken.json'));
    const text = join(out, 'model-BF16.gguf');
    const file = readGguf(text);
    assert.equal(file.metadata.get('tokenizer.ggml.model')?.value, 'gpt2');
    assert.equal(file.metadata.get('tokenizer.ggml.pre')?.value, 'tekken');
    const merges = file.metadata.get('tokenizer.ggml.merges')!.value as string[];
    assert.ok(merges.length > 100_000, `${merges.length} merges`);
    // Every merge is two byte-level pieces whose concatenation is a token.
    const tokens = new Set(file.metadata.get('tokenizer.ggml.tokens')!.value as string[]);
    for (const merge of merges.slice(0, 2000)) {
      const parts = merge.split(' ');
      assert.equal(parts.length, 2, merge);
      assert.ok(tokens.has(parts[0]! + parts[1]!), merge);
    }
    const fromGguf = loadTokenizer(GgufCheckpoint.open(out).tokenizerFile);
    const fromTekken = loadTokenizer(fixturePath(goldens.tokenizer.tekken));
    assert.equal(fromGguf.vocabSize, fromTekken.vocabSize);
    for (const c of goldens.tokenizer.cases as { text: string; ids: number[] }[])
      assert.deepEqual(fromGguf.encode(c.text), c.ids, c.text);
    for (const c of goldens.tokenizer.decode as { ids: number[]; text: string }[])
      assert.equal(fromGguf.decode(c.ids), c.text);
    assert.equal(fromGguf.decode([1, 3, 10, 4]), fromTekken.decode([1, 3, 10, 4]));
  });

  it('--mmproj FILE pairs a text GGUF with a vision projector kept elsewhere (run, inspect, library, errors)', async () => {
    const good = join(dir, 'cli');
    const textOnly = join(dir, 'text-only');
    const projectors = join(dir, 'projectors');
    mkdirSync(textOnly, { recursive: true });
    mkdirSync(projectors, { recursive: true });
    copyFileSync(join(good, 'model-BF16.gguf'), join(textOnly, 'model-BF16.gguf'));
    copyFileSync(join(good, 'mmproj-BF16.gguf'), join(projectors, 'vision.gguf'));
    const text = join(textOnly, 'model-BF16.gguf');
    const vision = join(projectors, 'vision.gguf');
    // Without it the text model loads text-only; with it, the picture is read like the folder holding both.
    assert.equal(GgufCheckpoint.open(text).config.vision, null);
    const paired = withMmproj(text, vision);
    assert.deepEqual(GgufCheckpoint.open(paired).config, GgufCheckpoint.open(good).config);
    const item = heldOutItems().find((x) => x.task === 'colour')!;
    const image = join(dir, 'colour.png');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(image, await scenePng(item.scene!));
    const args = ['--max-tokens', '20', '--temperature', '0', '--image', image, item.question];
    const both = pixtral(['run', '--model', good, ...args]);
    assert.equal(both.status, 0, both.stderr);
    const split = pixtral(['run', '--model', text, '--mmproj', vision, ...args]);
    assert.equal(split.status, 0, split.stderr);
    assert.equal(split.stdout, both.stdout);
    // The named projector wins over any beside the text model, and settles a folder holding two.
    copyFileSync(join(good, 'mmproj-BF16.gguf'), join(textOnly, 'mmproj-a.gguf'));
    copyFileSync(join(good, 'mmproj-BF16.gguf'), join(textOnly, 'mmproj-b.gguf'));
    assertOneLineFailure(pixtral(['run', '--model', textOnly, ...args]), /name one with --mmproj FILE/);
    const chosen = pixtral([
      'run',
      '--model',
      textOnly,
      '--mmproj',
      join(textOnly, 'mmproj-b.gguf'),
      ...args,
    ]);
    assert.equal(chosen.status, 0, chosen.stderr);
    assert.equal(chosen.stdout, both.stdout);
    assert.equal(GgufCheckpoint.open(withMmproj(textOnly, vision)).mmproj?.path, vision);
    // The library takes the same option.
    const { loadModel: loadLibraryModel } = await import('../src/library/model.js');
    const model = await loadLibraryModel(text, { mmproj: vision, backend: 'reference' });
    assert.equal(model.vision, true);
    await model.close();
    // eval goes through the library's loader with the pair.
    const evaluated = pixtral([
      'eval',
      '--task',
      'demo',
      '--model',
      text,
      '--mmproj',
      vision,
      '--per-task',
      '1',
      '--quant',
      'none',
    ]);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.match(evaluated.stdout, /position/);
    // inspect shows both files' metadata.
    const inspected = pixtral(['inspect', text, '--mmproj', vision, '--json']);
    assert.equal(inspected.status, 0, inspected.stderr);
    const [textInfo, visionInfo] = JSON.parse(inspected.stdout);
    assert.equal(textInfo.metadata['general.architecture'], 'llama');
    assert.equal(visionInfo.metadata['clip.projector_type'], 'pixtral');
    // Wrong pairs: one line naming the file and the problem.
    assertOneLineFailure(
      pixtral(['run', '--model', text, '--mmproj', text, 'Hi']),
      /model-BF16\.gguf: is not an mmproj/,
    );
    assertOneLineFailure(
      pixtral(['run', '--model', text, '--mmproj', join(projectors, 'missing.gguf'), 'Hi']),
      /missing\.gguf: no such mmproj file/,
    );
    assertOneLineFailure(
      pixtral(['run', '--model', demoModelDir(), '--mmproj', vision, 'Hi']),
      /--mmproj goes with a GGUF text model/,
    );
  });

  it('a folder that is not one model says what is wrong', async () => {
    const good = join(dir, 'cli');
    const two = join(dir, 'two-quants');
    mkdirSync(two, { recursive: true });
    for (const f of readdirSync(good)) copyFileSync(join(good, f), join(two, f));
    copyFileSync(join(good, 'model-BF16.gguf'), join(two, 'model-Q8_0.gguf'));
    assert.throws(
      () => GgufCheckpoint.open(two),
      /several text-model GGUFs here \(model-BF16\.gguf, model-Q8_0\.gguf\)/,
    );
    assert.throws(() => GgufCheckpoint.open(two), /pick one with .*two-quants:BF16 \(BF16, Q8_0\)/);
    // Naming the file picks one, and so does DIR:QUANT — in the loader and in --model.
    assert.equal(GgufCheckpoint.open(join(two, 'model-Q8_0.gguf')).config.text.dim, 256);
    assert.equal(GgufCheckpoint.open(`${two}:Q8_0`).text.path, join(two, 'model-Q8_0.gguf'));
    assert.equal(GgufCheckpoint.open(`${two}:bf16`).text.path, join(two, 'model-BF16.gguf'));
    assert.throws(
      () => GgufCheckpoint.open(`${two}:Q4_K_M`),
      /no Q4_K_M text-model GGUF here \(it has BF16, Q8_0\)/,
    );
    const answer = pixtral(['run', '--model', `${two}:Q8_0`, '--max-tokens', '8', 'Hello!']);
    assert.equal(answer.status, 0, answer.stderr);
    assertOneLineFailure(
      pixtral(['run', '--model', `${two}:Q5_K_S`, 'Hello!']),
      /no Q5_K_S text-model GGUF here/,
    );
    // Resolution hands every consumer (CLI, library, server) the file itself; a folder without GGUF files is never
    // taken for one (`org/name:Q4_K_M` stays a hub name beside an unrelated `org/name` folder).
    const resolved = await resolveModel(`${two}:Q8_0`, {
      cacheDir: dir,
      onMissing: () => Promise.reject(new Error('hub')),
    });
    assert.deepEqual(resolved, { kind: 'path', location: join(two, 'model-Q8_0.gguf') });
    mkdirSync(join(dir, 'org', 'name'), { recursive: true });
    assert.equal(isGgufModel(`${join(dir, 'org', 'name')}:Q4_K_M`), false);
    // A vocabulary converted from Hugging Face's tokenizer.json says pre "pixtral": the same ids.
    const hfStyle = join(dir, 'pixtral-pre');
    mkdirSync(hfStyle, { recursive: true });
    const source = readGguf(join(good, 'model-BF16.gguf'));
    writeGguf(
      join(hfStyle, 'model-BF16.gguf'),
      [...source.metadata]
        .filter(([key]) => key !== 'general.alignment')
        .map(([key, entry]) => (key === 'tokenizer.ggml.pre' ? [key, gguf.string('pixtral')] : [key, entry])),
      source.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: tensorBytes(source, t) })),
    );
    assert.deepEqual(
      loadTokenizer(join(hfStyle, 'model-BF16.gguf')).encode('Hello there!'),
      loadTokenizer(join(good, 'tekken.json')).encode('Hello there!'),
    );
    // The text file carries its own vocabulary; one without any needs a tekken.json beside it.
    const bare = join(dir, 'no-vocabulary');
    mkdirSync(bare, { recursive: true });
    const file = readGguf(join(good, 'model-BF16.gguf'));
    writeGguf(
      join(bare, 'model-BF16.gguf'),
      [...file.metadata].filter(([key]) => !key.startsWith('tokenizer.') && key !== 'general.alignment'),
      file.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: tensorBytes(file, t) })),
    );
    assert.throws(
      () => GgufCheckpoint.open(bare),
      /model-BF16\.gguf: has no vocabulary \(tokenizer\.ggml\.\*\) and there is no tekken\.json beside it/,
    );
  });
});
