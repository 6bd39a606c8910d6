import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReferenceBackend } from '../src/backend/reference/reference-backend.js';
import { Checkpoint } from '../src/checkpoint/index.js';
import { KvCacheFullError } from '../src/model/kv-cache.js';
import { PixtralModel } from '../src/model/pixtral.js';
import { concatAngles, rope1d, ropeFrequencies, RopeTable } from '../src/model/rope.js';
import { argmax } from '../src/generate/sampler.js';
import { fixturePath, loadGoldens, readF32 } from './helpers/fixtures.js';

const goldens = loadGoldens();

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** The fixture README's bound: 1e-4 · max(1, max |golden|). */
function assertClose(actual: Float32Array, golden: Float32Array, what: string): void {
  const bound = 1e-4 * Math.max(1, maxAbs(golden));
  const diff = maxAbsDiff(actual, golden);
  assert.ok(diff <= bound, `${what}: max abs diff ${diff} > ${bound}`);
}

for (const layout of ['consolidated', 'hf'] as const) {
  describe(`reference engine on the ${layout} layout`, () => {
    const checkpoint = Checkpoint.open(fixturePath(goldens.model[layout]));
    const model = PixtralModel.fromCheckpoint(checkpoint, new ReferenceBackend());
    checkpoint.close();

    it('matches the vision encoder and adapter goldens (from the golden pixels)', () => {
      for (const v of goldens.model.vision) {
        const image = goldens.images.find((i: { image: string }) => i.image === v.image);
        const input = { pixels: readF32(image.pixels.file), rows: image.rows, cols: image.cols };
        assertClose(model.encodeImages([input]).data, readF32(v.vision_out.file), `vision ${v.image}`);
        assertClose(model.imageEmbeddings([input]).data, readF32(v.adapter_out.file), `adapter ${v.image}`);
      }
    });

    it('encodes two images in one pass exactly as separately (block-diagonal attention)', () => {
      const [a, b] = goldens.images
        .slice(0, 2)
        .map((i: { pixels: { file: string }; rows: number; cols: number }) => ({
          pixels: readF32(i.pixels.file),
          rows: i.rows,
          cols: i.cols,
        }));
      const packed = model.encodeImages([a, b]).data;
      const separate = [...model.encodeImages([a]).data, ...model.encodeImages([b]).data];
      assert.ok(maxAbsDiff(packed, new Float32Array(separate)) < 1e-6);
    });

    it('matches last-position logits and top-5 of the text-only goldens', () => {
      for (const l of goldens.model.logits.filter(
        (x: { num_img_tokens: number }) => x.num_img_tokens === 0,
      )) {
        const logits = model.prefill(l.ids, model.newCache(l.ids.length));
        assertClose(logits, readF32(l.last_logits.file), `logits ${l.name}`);
        const top5 = [...logits.keys()].sort((x, y) => logits[y]! - logits[x]!).slice(0, 5);
        assert.deepEqual(top5, l.top5, `top-5 ${l.name}`);
      }
    });

    it('gives the same logits whatever the prefill chunk size', () => {
      const ids = goldens.model.logits.find((x: { num_img_tokens: number }) => x.num_img_tokens === 0).ids;
      const whole = model.prefill(ids, model.newCache(ids.length));
      const chunked = model.prefill(ids, model.newCache(ids.length), undefined, 3);
      assert.ok(maxAbsDiff(whole, chunked) < 1e-5);
    });

    it('decodes greedily token by token like the goldens', () => {
      for (const g of goldens.model.generate.filter((x: { ids: number[] }) => !x.ids.includes(10))) {
        const cache = model.newCache(g.ids.length + g.max_new_tokens);
        let logits = model.prefill(g.ids, cache);
        const out: number[] = [];
        while (out.length < g.max_new_tokens) {
          let best = 0;
          for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
          out.push(best);
          if (best === 2 || out.length === g.max_new_tokens) break;
          logits = model.step(best, cache);
        }
        assert.deepEqual(out, g.greedy, g.name);
      }
    });
  });
}

describe('kv cache', () => {
  const checkpoint = Checkpoint.open(fixturePath(goldens.model.consolidated));
  const model = PixtralModel.fromCheckpoint(checkpoint, new ReferenceBackend());
  checkpoint.close();

  it('refuses to grow past its capacity and frees its memory on release', () => {
    const cache = model.newCache(4);
    model.prefill([1, 3, 1100, 4], cache);
    assert.equal(cache.length, 4);
    assert.ok(cache.bytes > 0);
    assert.throws(() => model.step(1100, cache), KvCacheFullError);
    cache.release();
    assert.equal(cache.bytes, 0);
    assert.equal(cache.length, 0);
  });

  it('decode steps reuse the scratch buffers planned by the first ones (no new activations)', () => {
    const cache = model.newCache(40);
    model.prefill([1, 3, 1100, 4], cache);
    let logits = model.step(1100, cache);
    const planned = model.decoder.scratch.bytes;
    assert.ok(planned > 0);
    for (let i = 0; i < 5; i++) logits = model.step(argmax(logits), cache);
    assert.equal(model.decoder.scratch.bytes, planned);
    cache.release();
  });

  it('never allocates more than the capacity', () => {
    const cache = model.newCache(10);
    model.prefill([1, 3, 1100], cache);
    const t = model.config.text;
    assert.ok(cache.bytes <= t.nLayers * 2 * 10 * t.nKvHeads * t.headDim * 4);
  });
});

describe('rope table', () => {
  it('gives exactly the angles computed afresh, across its growth, as views', () => {
    const freqs = ropeFrequencies(16, 1e9);
    const table = new RopeTable(freqs, 2000);
    for (const [start, count] of [
      [0, 3],
      [250, 10], // crosses the first 256 positions
      [1, 1],
      [700, 600], // grows past twice its size
      [1990, 10], // up to the cap
    ] as const) {
      const cached = table.angles(start, count);
      const fresh = rope1d(freqs, start, count);
      assert.deepEqual([cached.positions, cached.pairs], [fresh.positions, fresh.pairs]);
      assert.deepEqual(cached.cos, fresh.cos);
      assert.deepEqual(cached.sin, fresh.sin);
    }
    const rows = table.rows([5, 1234, 0]);
    const fresh = concatAngles([rope1d(freqs, 5, 1), rope1d(freqs, 1234, 1), rope1d(freqs, 0, 1)]);
    assert.deepEqual(rows.cos, fresh.cos);
    assert.deepEqual(rows.sin, fresh.sin);
  });
});
