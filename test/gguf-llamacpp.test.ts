/**
 * GGUF against llama.cpp itself, from outputs llama.cpp produced on this project's machine and committed with
 * the commands that made them (test/data/llamacpp/README.md; CI never runs llama.cpp):
 *  - block formats: ggml's own dequantization of blocks `llama-quantize` wrote (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K)
 *    equals ours bit for bit, and our Q4_0 / Q8_0 quantizers write the very bytes llama-quantize wrote;
 *  - the vocabulary: llama.cpp's tokenizer on our exported text GGUF gives our ids;
 *  - the model: llama.cpp's logits on our F32 export of the demo model equal ours (float32 rounding apart).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadNativeAddon, NativeFormat } from '../src/backend/native/addon.js';
import { NativeBackend } from '../src/backend/native/native-backend.js';
import type { NativeWeight } from '../src/backend/native/native-weight.js';
import { Checkpoint } from '../src/checkpoint/index.js';
import { dequantize, quantize } from '../src/checkpoint/gguf/ggml-blocks.js';
import { ggmlTypeByName } from '../src/checkpoint/gguf/ggml-types.js';
import { exportGguf } from '../src/checkpoint/gguf/gguf-export.js';
import { GgufCheckpoint } from '../src/checkpoint/gguf/pixtral-gguf.js';
import { demoModelDir } from '../src/demo/embedded-model.js';
import { loadModel } from '../src/engine/load-model.js';
import { promptLogits } from '../src/engine/probes.js';
import { loadTokenizer } from '../src/tokenizer/index.js';

const data = resolve('test/data/llamacpp');
const read = (file: string) => JSON.parse(readFileSync(join(data, file), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'pixtral-gguf-llamacpp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Dump {
  readonly type: string;
  readonly bytes: string;
  readonly values: number[];
}
const maxAbsDifference = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const floatBits = (values: Float32Array) => [
  ...new Uint32Array(values.buffer, values.byteOffset, values.length),
];

/** The demo model as our exporter writes it at F32: the file llama.cpp ran on. */
function demoF32(): string {
  const out = join(dir, 'demo-f32');
  const source = Checkpoint.open(demoModelDir());
  exportGguf(source, source.tokenizerFile, out, { type: 'f32' });
  source.close();
  return out;
}

describe('GGUF against llama.cpp', () => {
  const blocks = read('demo-blocks.json') as Record<string, Dump>;
  const source = new Float32Array(new Uint32Array(blocks.F32!.values).buffer);

  for (const name of ['Q4_0', 'Q8_0', 'Q4_K', 'Q5_K', 'Q6_K']) {
    it(`${name}: ggml's dequantization of llama-quantize's blocks, bit for bit`, () => {
      const dump = blocks[name]!;
      const type = ggmlTypeByName(name)!;
      const bytes = new Uint8Array(Buffer.from(dump.bytes, 'hex'));
      assert.deepEqual(floatBits(dequantize(type, bytes, dump.values.length)), dump.values);
    });
  }

  for (const name of ['Q4_0', 'Q8_0']) {
    it(`${name}: our quantizer writes the bytes llama-quantize wrote from the same floats`, () => {
      assert.equal(hex(quantize(ggmlTypeByName(name)!, source)), blocks[name]!.bytes);
    });
  }

  it("llama.cpp's tokenizer on our exported vocabulary gives our ids", () => {
    const out = demoF32();
    const expected = read('demo-tokenize.json') as { texts: string[]; ids: number[][] };
    const fromGguf = loadTokenizer(join(out, 'model-F32.gguf'));
    const fromTekken = loadTokenizer(join(demoModelDir(), 'tekken.json'));
    expected.texts.forEach((text, i) => {
      assert.deepEqual(fromGguf.encode(text), expected.ids[i], text);
      assert.deepEqual(fromTekken.encode(text), expected.ids[i], text);
    });
  });

  it("a Q4_K_M file llama-quantize wrote runs as stored and agrees with llama.cpp's logits", () => {
    const file = join(data, 'demo-Q4_K_M.gguf');
    const checkpoint = GgufCheckpoint.open(file);
    const raw = checkpoint.readRaw('layers.0.attention.wq.weight');
    assert.equal(raw.ggml, 'Q4_K');
    const addon = loadNativeAddon();
    if (addon) {
      // The super-blocks are the kernels' rows: the weight is the bytes read, no rearranged or float copy.
      const weight = new NativeBackend(addon).weight(raw) as NativeWeight;
      assert.equal(weight.format, NativeFormat.Q4K);
      assert.equal(weight.data, raw.data);
    }
    const { prompts } = read('demo-q4_k_m-logits.json') as {
      prompts: { ids: number[]; logsumexp: number; top: [number, number][] }[];
    };
    const backends = addon ? (['reference', 'native'] as const) : (['reference'] as const);
    const results = backends.map((backend) => {
      const { model } = loadModel(file, { backend: { backend } });
      return prompts.map((p) => promptLogits(model, p.ids, []));
    });
    results.forEach((perPrompt, b) =>
      perPrompt.forEach((logits, i) => {
        const what = `${backends[b]}, prompt ${i}`;
        let top = 0;
        logits.forEach((v, id) => v > logits[top]! && (top = id));
        assert.equal(top, prompts[i]!.top[0]![0], `${what}: top-1`);
        // llama.cpp rounds activations to 8 bits per 256 values for K-quant products, we per 32: both move the
        // logits by about 1% of their scale.
        for (const [id, value] of prompts[i]!.top)
          assert.ok(Math.abs(logits[id]! - value) < 0.35, `${what}: logit ${id} ${logits[id]} vs ${value}`);
      }),
    );
    if (results.length === 2)
      results[1]!.forEach((logits, i) =>
        assert.ok(maxAbsDifference(logits, results[0]![i]!) < 0.3, `native vs reference, prompt ${i}`),
      );
  });

  it("llama.cpp's logits on our F32 export equal ours, on both backends", () => {
    const out = demoF32();
    assert.equal(GgufCheckpoint.open(out).config.text.vocabSize, read('demo-f32-logits.json').vocab);
    const { prompts } = read('demo-f32-logits.json') as {
      prompts: { ids: number[]; logsumexp: number; top: [number, number][] }[];
    };
    const backends = loadNativeAddon() ? (['reference', 'native'] as const) : (['reference'] as const);
    for (const backend of backends) {
      const { model } = loadModel(out, { backend: { backend } });
      for (const prompt of prompts) {
        const logits = promptLogits(model, prompt.ids, []);
        let max = -Infinity;
        let top = -1;
        logits.forEach((v, i) => v > max && ((max = v), (top = i)));
        let sum = 0;
        for (const v of logits) sum += Math.exp(v - max);
        const what = `${backend}, ${prompt.ids.length} tokens`;
        assert.equal(top, prompt.top[0]![0], `${what}: top-1`);
        assert.ok(Math.abs(max + Math.log(sum) - prompt.logsumexp) < 1e-4, `${what}: log-sum-exp`);
        for (const [id, value] of prompt.top)
          assert.ok(Math.abs(logits[id]! - value) < 1e-4, `${what}: logit ${id} ${logits[id]} vs ${value}`);
      }
    }
  });
});
