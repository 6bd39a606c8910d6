/** KV-cache storage formats: f16 and q8 round trips, growth, and attention over each on both backends. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeHalves, type KvStorage, kvToFloat32 } from '../src/backend/kv-format.js';
import { loadNativeAddon } from '../src/backend/native/addon.js';
import { NativeBackend } from '../src/backend/native/native-backend.js';
import { ReferenceBackend } from '../src/backend/reference/reference-backend.js';
import { tensor } from '../src/backend/types.js';
import { Engine } from '../src/engine/engine.js';
import { SeededRandom } from '../src/generate/random.js';
import { KvCache } from '../src/model/kv-cache.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import { collect, prepare } from './helpers/engine.js';

const random = new SeededRandom(77);
const values = (n: number) => Float32Array.from({ length: n }, () => (random.next() - 0.5) * 4);

function filled(
  format: 'f32' | 'f16' | 'q8',
  positions: number,
  kvWidth: number,
  headDim: number,
  pagePositions?: number,
  storage?: KvStorage,
) {
  const cache = new KvCache(2, kvWidth, 4096, format, headDim, pagePositions, storage);
  const keys: Float32Array[] = [];
  for (let written = 0; written < positions;) {
    const count = Math.min(97, positions - written); // odd chunks cross the growth steps
    cache.reserve(count);
    const k = tensor([count, kvWidth], values(count * kvWidth));
    const v = tensor([count, kvWidth], values(count * kvWidth));
    cache.write(0, k, v);
    cache.write(1, v, k);
    keys.push(k.data);
    cache.advance(count);
    written += count;
  }
  const all = new Float32Array(positions * kvWidth);
  let at = 0;
  for (const k of keys) {
    all.set(k, at);
    at += k.length;
  }
  return { cache, keys: all };
}

describe('KV cache formats', () => {
  it('keeps every position across growth; f16 within half an ulp, q8 within half a step of its scale', () => {
    for (const format of ['f32', 'f16', 'q8'] as const) {
      const { cache, keys } = filled(format, 1000, 64, 32);
      const view = cache.view(0, 1000);
      const stored = kvToFloat32(view.k);
      for (let i = 0; i < keys.length; i++) {
        const error = Math.abs(stored[i]! - keys[i]!);
        const bound =
          format === 'f32'
            ? 0
            : format === 'f16'
              ? Math.abs(keys[i]!) * 2 ** -11 + 2 ** -25
              : 2 / 127 / 2 + 1e-6;
        assert.ok(error <= bound, `${format} value ${i}: ${error}`);
      }
      assert.ok(cache.bytes < (format === 'f32' ? 4 : format === 'f16' ? 2 : 1.2) * 1000 * 1.6 * 64 * 2 * 2);
      cache.release();
      assert.equal(cache.bytes, 0);
    }
  });

  it('fork copies the filled positions (values and q8 scales) and then grows apart from the original', () => {
    for (const format of ['f32', 'f16', 'q8'] as const) {
      const { cache } = filled(format, 300, 64, 32, 128);
      const copy = cache.fork();
      assert.equal(copy.length, 300);
      for (const layer of [0, 1]) {
        const [a, b] = [cache.view(layer, 300), copy.view(layer, 300)];
        assert.deepEqual(kvToFloat32(b.k), kvToFloat32(a.k), `${format} layer ${layer} keys`);
        assert.deepEqual(kvToFloat32(b.v), kvToFloat32(a.v), `${format} layer ${layer} values`);
      }
      // Writing to the copy leaves the original alone.
      const before = kvToFloat32(cache.view(0, 300).k);
      copy.truncate(100);
      copy.reserve(5);
      copy.write(0, tensor([5, 64], values(5 * 64)), tensor([5, 64], values(5 * 64)));
      copy.write(1, tensor([5, 64], values(5 * 64)), tensor([5, 64], values(5 * 64)));
      assert.deepEqual(kvToFloat32(cache.view(0, 300).k), before, format);
      copy.release();
      assert.equal(cache.length, 300);
    }
  });

  it("a cache stores through the backend's half encoder and page memory, and so do its forks and snapshot caches", () => {
    for (const format of ['f32', 'f16', 'q8'] as const) {
      let stored = 0;
      const buffers = new Set<ArrayBufferLike>();
      const storage: KvStorage = {
        halves: (src, dst, at) => {
          stored += src.length;
          encodeHalves(src, dst, at);
        },
        pageMemory: (bytes) => {
          assert.equal(bytes % 4, 0, `${format}: ${bytes} bytes`);
          const memory = new Uint8Array(bytes + 8).subarray(8); // not at the buffer's start
          buffers.add(memory.buffer);
          return memory;
        },
      };
      const cache = new KvCache(1, 6, 100, format, 6, 64, storage);
      const write = (target: KvCache) => {
        target.reserve(1);
        const k = values(6);
        target.write(0, tensor([1, 6], k), tensor([1, 6], values(6)));
        target.advance(1);
        const { k: stored } = target.view(0, target.length);
        for (const page of stored.pages) assert.ok(buffers.has(page.buffer), format);
        const last = kvToFloat32(stored).subarray((target.length - 1) * 6);
        for (let i = 0; i < 6; i++) assert.ok(Math.abs(last[i]! - k[i]!) < 0.05, format);
      };
      write(cache);
      write(cache.fork());
      write(KvCache.fromSnapshot(cache.snapshot(), 100, 1, storage));
      assert.equal(stored, format === 'f16' ? 36 : 0);
    }
  });

  it('snapshots share pages by reference; whoever writes next copies the page (copy-on-write)', () => {
    for (const format of ['f32', 'f16', 'q8'] as const) {
      const { cache } = filled(format, 300, 64, 32, 128);
      const snapshot = cache.snapshot(200);
      assert.equal(snapshot.length, 200);
      assert.equal(snapshot.bytes, (cache.bytes * 2) / 3, 'two of three pages, held by reference');
      const kept = kvToFloat32(cache.view(0, 200).k);
      // The original goes on writing inside the shared pages (positions 150..): the snapshot does not change.
      cache.truncate(150);
      cache.reserve(10);
      cache.write(0, tensor([10, 64], values(640)), tensor([10, 64], values(640)));
      cache.write(1, tensor([10, 64], values(640)), tensor([10, 64], values(640)));
      cache.advance(10);
      // A cache made from the snapshot with more capacity than the original had reads the same positions and
      // keeps page i at positions i·128.. as it grows past the snapshot.
      const resumed = KvCache.fromSnapshot(snapshot, 5000, 180);
      assert.deepEqual(kvToFloat32(resumed.view(0, 180).k), kept.subarray(0, 180 * 64), format);
      const more = values(400 * 64);
      resumed.reserve(400);
      resumed.write(0, tensor([400, 64], more), tensor([400, 64], more));
      resumed.write(1, tensor([400, 64], more), tensor([400, 64], more));
      resumed.advance(400);
      const grown = kvToFloat32(resumed.view(0, 580).k);
      assert.deepEqual(grown.subarray(0, 180 * 64), kept.subarray(0, 180 * 64), `${format}: prefix kept`);
      const tolerance = format === 'f32' ? 0 : 0.05;
      for (let i = 0; i < more.length; i++)
        assert.ok(Math.abs(grown[180 * 64 + i]! - more[i]!) <= tolerance, `${format} value ${i}`);
      // Another cache from the same snapshot still sees what was stored.
      assert.deepEqual(kvToFloat32(KvCache.fromSnapshot(snapshot, 300).view(0, 200).k), kept, format);
    }
  });

  it('attention over f16 and q8 caches equals attention over their float32 contents, on both backends', () => {
    const addon = loadNativeAddon();
    const best = addon?.features().best;
    // Head sizes: a generic one and the two with register-held kernels; decode (1 query) and a short prefill;
    // the native kernels at the portable level (bit-twiddled half floats) and the best one (F16C).
    for (const headDim of [32, 128])
      for (const queries of [1, 3])
        for (const format of ['f16', 'q8'] as const) {
          const { cache } = filled(format, 300, 4 * headDim, headDim);
          const { k, v } = cache.view(0, 300);
          const q = tensor([queries, 8 * headDim], values(queries * 8 * headDim));
          const shape = {
            nHeads: 8,
            nKvHeads: 4,
            headDim,
            scale: 1 / Math.sqrt(headDim),
            queryStart: 300 - queries,
          };
          const expected = new ReferenceBackend().attention(
            q,
            { shape: k.shape, data: kvToFloat32(k) },
            { shape: v.shape, data: kvToFloat32(v) },
            shape,
          ).data;
          const runs: [string, () => Float32Array][] = [
            ['reference', () => new ReferenceBackend().attention(q, k, v, shape).data],
          ];
          if (addon)
            for (const level of new Set(['portable', best!] as const))
              runs.push([
                `native ${level}`,
                () => {
                  addon.setLevel(level);
                  const out = new NativeBackend(addon).attention(q, k, v, shape).data;
                  addon.setLevel(best!);
                  return out;
                },
              ]);
          for (const [name, run] of runs) {
            const out = run();
            let worst = 0;
            for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - expected[i]!));
            assert.ok(worst < 1e-5, `${name} ${format} head ${headDim}, ${queries} queries: ${worst}`);
          }
        }
  });

  it("one allocation per page index holds every layer's keys and values; q8 pages round up to whole words", () => {
    for (const format of ['f32', 'f16', 'q8'] as const) {
      const asked: number[] = [];
      const storage: KvStorage = {
        halves: encodeHalves,
        pageMemory: (bytes) => {
          asked.push(bytes);
          return new Uint8Array(bytes);
        },
      };
      // 5 values a position, 3 layers, 64-position pages, capacity 65: a full page, then one of a single position
      const cache = new KvCache(3, 5, 65, format, 5, 64, storage);
      cache.reserve(65);
      const size = { f32: 4, f16: 2, q8: 1 }[format];
      const stride = (values: number) => Math.ceil((values * size) / 64) * 64;
      assert.deepEqual(asked, [stride(320) * 6, stride(5) * 6], format);
      const { k, v } = cache.view(2, 65);
      assert.equal(k.pages[1]!.length, 5);
      assert.equal(k.pages[0]!.buffer, v.pages[0]!.buffer);
      assert.notEqual(k.pages[0]!.buffer, k.pages[1]!.buffer);
      // every page of a page index its own bytes
      const first = cache.view(0, 65).k.pages[0]!;
      assert.equal(k.pages[0]!.byteOffset - first.byteOffset, 4 * stride(320));
    }
    assert.throws(
      () =>
        new KvCache(1, 8, 64, 'f32', 8, 64, {
          halves: encodeHalves,
          pageMemory: () => new Uint8Array(8),
        }).reserve(1),
      /page memory of 8 bytes/,
    );
  });

  it("the native backend's page memory: zeroed, and attention over 512 KB f16 pages equals the reference", () => {
    const addon = loadNativeAddon();
    if (!addon) return;
    const backend = new NativeBackend(addon);
    const storage: KvStorage = {
      halves: (s, d, at) => backend.toHalf(s, d, at),
      pageMemory: (b) => backend.kvPageMemory(b),
    };
    const fresh = backend.kvPageMemory(5 << 20);
    assert.ok(fresh.every((byte) => byte === 0));
    const headDim = 128;
    for (const format of ['f16', 'f32', 'q8'] as const) {
      const { cache } = filled(format, 600, 8 * headDim, headDim, 256, storage);
      const { k, v } = cache.view(1, 600);
      assert.equal(k.pages[0]!.byteLength, 256 * 8 * headDim * { f32: 4, f16: 2, q8: 1 }[format]);
      const q = tensor([1, 32 * headDim], values(32 * headDim));
      const shape = { nHeads: 32, nKvHeads: 8, headDim, scale: 1 / Math.sqrt(headDim), queryStart: 599 };
      const expected = new ReferenceBackend().attention(
        q,
        { shape: k.shape, data: kvToFloat32(k) },
        { shape: v.shape, data: kvToFloat32(v) },
        shape,
      ).data;
      const out = backend.attention(q, k, v, shape).data;
      let worst = 0;
      for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - expected[i]!));
      assert.ok(worst < 1e-5, `${format}: ${worst}`);
    }
  });

  it('attention reads the pages in place: any page size, every format, decode and prefill, both backends', () => {
    const addon = loadNativeAddon();
    const headDim = 64;
    for (const pagePositions of [48, 256])
      for (const format of ['f32', 'f16', 'q8'] as const)
        for (const queries of [1, 70]) {
          const { cache } = filled(format, 333, 2 * headDim, headDim, pagePositions);
          const { k, v } = cache.view(1, 333);
          assert.equal(k.pages.length, Math.ceil(333 / pagePositions));
          const q = tensor([queries, 4 * headDim], values(queries * 4 * headDim));
          const shape = { nHeads: 4, nKvHeads: 2, headDim, scale: 0.125, queryStart: 333 - queries };
          const contiguous = (t: typeof k) => ({ shape: t.shape, data: kvToFloat32(t) });
          const expected = new ReferenceBackend().attention(q, contiguous(k), contiguous(v), shape).data;
          const outs = [new ReferenceBackend().attention(q, k, v, shape).data];
          if (addon) outs.push(new NativeBackend(addon).attention(q, k, v, shape).data);
          for (const out of outs) {
            let worst = 0;
            for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - expected[i]!));
            assert.ok(worst < 1e-5, `${format} pages of ${pagePositions}, ${queries} queries: ${worst}`);
          }
        }
  });

  it('takes pages as it grows and never copies them', () => {
    const cache = new KvCache(1, 8, 1000, 'f32', 8, 64);
    cache.reserve(10);
    cache.write(0, tensor([10, 8], values(80)), tensor([10, 8], values(80)));
    cache.advance(10);
    const first = cache.view(0, 10).k.pages[0];
    cache.reserve(500); // eight more pages
    assert.equal(cache.view(0, 10).k.pages[0], first, 'the first page is the same object');
    assert.equal(cache.bytes, 2 * 8 * 4 * 64 * Math.ceil(510 / 64));
    const tail = new KvCache(1, 8, 70, 'f32', 8, 64);
    tail.reserve(70);
    assert.equal(tail.bytes, 2 * 8 * 4 * 70, 'the last page is cut to the capacity');
  });

  it('an f16 cache gives the greedy golden generation of the fixture model', async () => {
    const goldens = loadGoldens();
    const g = goldens.model.generate.find((x: { ids: number[] }) => !x.ids.includes(10));
    const engine = Engine.load(fixturePath(goldens.model.consolidated), { kvCache: 'f16' });
    const { readFileSync } = await import('node:fs');
    const body = JSON.parse(readFileSync(fixturePath(g.request), 'utf8'));
    const prompt = await prepare(engine, { ...body, max_tokens: g.max_new_tokens, temperature: 0 });
    const { done } = await collect(engine.generate(prompt));
    assert.deepEqual(
      done.tokens,
      g.greedy.filter((id: number) => id !== 2),
    );
  });
});
