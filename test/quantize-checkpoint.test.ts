/**
 * quantizeCheckpoint reports what it quantized and what it could not, and refuses to write a "quantized"
 * copy in which nothing is quantized. A stand-in quantizer keeps this independent of the native kernels.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SyntheticWeights } from '../src/checkpoint/index.js';
import {
  QuantizeError,
  quantizeCheckpoint,
  type TensorQuantizer,
} from '../src/checkpoint/quantize-checkpoint.js';
import { quantizedRowBytes } from '../src/checkpoint/quantized.js';
import { scratchDir } from './helpers/scratch.js';
import { textConfig } from './helpers/text-model.js';

const scratch = scratchDir('pixtral-quantize-');
const tokenizerFile = join(scratch, 'tekken.json');
writeFileSync(tokenizerFile, '{}');

/** Blocks for every 2-D weight but the embeddings, when the width allows (the native backend's rule). */
const stubQuantizer: TensorQuantizer = {
  quant: 'q8',
  fate: ({ name, shape }) =>
    shape.length < 2 || name === 'tok_embeddings.weight' ? 'kept' : shape[1]! % 32 ? 'unaligned' : 'blocks',
  quantize: (raw) => new Uint8Array(raw.shape[0]! * quantizedRowBytes('q8', raw.shape[1]!)),
};

const source = (overrides: Parameters<typeof textConfig>[0]) =>
  new SyntheticWeights({ text: textConfig(overrides), vision: null, maxContext: 4096 });

describe('quantizeCheckpoint', () => {
  it('counts the quantized tensors and names those whose width is not a multiple of 32', () => {
    // dim 64, hidden 80: w2 (input width 80) cannot be cut into 32-value blocks.
    const report = quantizeCheckpoint(stubQuantizer, {
      source: source({ hiddenDim: 80 }),
      tokenizerFile,
      image: null,
      outDir: join(scratch, 'partly'),
    });
    assert.deepEqual(report.unaligned, [{ name: 'layers.0.feed_forward.w2.weight', width: 80 }]);
    assert.equal(report.quantized.count, 7); // wq wk wv wo w1 w3 output
    assert.equal(report.total, 12);
    assert.ok(report.quantized.toBytes < report.quantized.fromBytes);
    assert.ok(existsSync(report.file));
  });

  it('fails, writing nothing, when no tensor can be quantized', () => {
    const outDir = join(scratch, 'nothing');
    assert.throws(
      () =>
        quantizeCheckpoint(stubQuantizer, {
          source: source({ dim: 20, headDim: 10, nHeads: 2, nKvHeads: 1, hiddenDim: 40 }),
          tokenizerFile,
          image: null,
          outDir,
        }),
      (err: Error) =>
        err instanceof QuantizeError &&
        /^nothing to quantize to q8: no matmul weight has an input width that is a multiple of 32 \(layers\.0\.attention\.wq\.weight \(width 20\), .* and \d+ more\)$/.test(
          err.message,
        ),
    );
    assert.equal(existsSync(outDir), false);
  });
});

describe('the native quantizer writes rows on every machine', () => {
  it('q8/q4 files hold rows even where the kernels run panels (a file must read the same everywhere)', async () => {
    const { loadNativeAddon, NativeFormat } = await import('../src/backend/native/addon.js');
    const { nativeTensorQuantizer } = await import('../src/backend/native/tensor-quantizer.js');
    const addon = loadNativeAddon();
    if (!addon) return; // the reference backend writes no quantized files
    const [rows, k] = [32, 64]; // a whole number of 16-row panels
    const values = Float32Array.from({ length: rows * k }, (_, i) => Math.sin(i * 0.37) * 0.1);
    const raw = {
      name: 'layers.0.attention.wq.weight',
      dtype: 'F32' as const,
      shape: [rows, k],
      data: new Uint8Array(values.buffer),
    };
    for (const [quant, format, rowBytes] of [
      ['q8', NativeFormat.Q8, k + 4],
      ['q4', NativeFormat.Q4, k / 2 + 4],
    ] as const) {
      const expected = new Uint8Array(rows * rowBytes);
      addon.quantize(format, values, rows, k, expected);
      assert.deepEqual(nativeTensorQuantizer(addon, quant).quantize(raw), expected, quant);
    }
  });
});
