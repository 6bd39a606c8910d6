/**
 * Native kernels against plain TypeScript, on every kernel set (instruction-set level) this CPU can run
 * (portable, AVX2, AVX-512, AMX) — matmuls, attention and the element-wise ops alike — with odd shapes: token counts across the 32-token tile, output rows across the 64-row task,
 * a single block, widths that are not multiples of 32 (bf16).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  type KernelLevel,
  loadNativeAddon,
  nativeAddonPath,
  NativeFormat,
  nativeUnavailableReason,
} from '../src/backend/native/addon.js';
import { ReferenceBackend } from '../src/backend/reference/reference-backend.js';
import { dequantize as ggmlDequantize } from '../src/checkpoint/gguf/ggml-blocks.js';
import { ggmlTypeByName } from '../src/checkpoint/gguf/ggml-types.js';
import { tensor } from '../src/backend/types.js';
import { floatToHalf } from '../src/backend/kv-format.js';
import { f16ToF32 } from '../src/checkpoint/dtype.js';
import { roundHalfEven } from '../src/image/target-size.js';
import {
  bf16,
  dequantize,
  emulateQuantizedMatmul,
  maxRelativeError,
  randomMatrix,
  rowBytes,
} from './helpers/kernels.js';

const addon = loadNativeAddon();
/** Random K-quant super-blocks: any bytes are valid values once the f16 scales are sane (here 0.001–0.004). */
function randomKQuantRows(
  type: 'Q4_K' | 'Q5_K' | 'Q6_K',
  blockBytes: number,
  n: number,
  k: number,
): Uint8Array {
  const out = new Uint8Array(n * (k / 256) * blockBytes);
  for (let i = 0; i < out.length; i++) out[i] = (Math.random() * 256) | 0;
  const view = new DataView(out.buffer);
  const half = () => 0x1400 + ((Math.random() * 0x400) | 0); // f16 in [2^-10, 2^-9)
  for (let b = 0; b < out.length / blockBytes; b++) {
    const at = b * blockBytes;
    if (type === 'Q6_K') view.setUint16(at + 208, half(), true);
    else {
      view.setUint16(at, half(), true);
      view.setUint16(at + 2, half(), true);
    }
  }
  return out;
}

/** What the kernels compute, in float64: activations quantized per 32 values (scale max|x|/127), times w. */
function emulateInt8Activations(x: Float32Array, tokens: number, k: number, w: Float32Array, n: number) {
  const y = new Float64Array(tokens * n);
  for (let t = 0; t < tokens; t++) {
    const xq = new Float64Array(k);
    for (let b = 0; b < k / 32; b++) {
      let max = 0;
      for (let j = 0; j < 32; j++) max = Math.max(max, Math.abs(x[t * k + b * 32 + j]!));
      const s = Math.fround(max / 127);
      const inv = s > 0 ? Math.fround(1 / s) : 0;
      for (let j = 0; j < 32; j++) xq[b * 32 + j] = Math.round(Math.fround(x[t * k + b * 32 + j]! * inv)) * s;
    }
    for (let o = 0; o < n; o++) {
      let sum = 0;
      for (let i = 0; i < k; i++) sum += xq[i]! * w[o * k + i]!;
      y[t * n + o] = sum;
    }
  }
  return y;
}

const ALL_LEVELS: readonly KernelLevel[] = ['amx', 'avx512', 'avx2', 'portable'];
/** Runs `body` with every level this CPU can run active, named; the best one is active again afterwards. */
function onEveryLevel(body: (level: KernelLevel) => void): void {
  const { levels, best } = addon!.features();
  try {
    for (const level of levels) {
      assert.equal(addon!.setLevel(level), true, level);
      body(level);
    }
  } finally {
    addon!.setLevel(best);
  }
}
const SHAPES = [
  { tokens: 1, k: 32, n: 1 },
  { tokens: 1, k: 160, n: 67 }, // decode: row pairs, and an odd row at each task's end
  { tokens: 3, k: 96, n: 37 },
  { tokens: 33, k: 160, n: 130 },
  { tokens: 5, k: 1024, n: 65 },
];

describe(
  'native kernels',
  { skip: addon ? false : `native addon unavailable: ${nativeUnavailableReason()}` },
  () => {
    const native = addon!;
    const levels = native?.features().levels ?? [];

    it('reports the CPU features and dispatches to the best level by default', () => {
      const features = native.features();
      // Levels the CPU can run, best first, always down to portable; the best is active unless changed.
      assert.deepEqual(
        features.levels,
        ALL_LEVELS.filter((l) => features.levels.includes(l)),
      );
      assert.equal(features.levels[0], features.best);
      assert.equal(features.levels.at(-1), 'portable');
      assert.equal(features.levels.includes('amx'), features.amx);
      assert.equal(features.active, features.best);
      assert.ok(features.threads >= 1);
      assert.equal(native.setLevel('portable'), true);
      assert.equal(native.features().active, 'portable');
      for (const level of ALL_LEVELS.filter((l) => !features.levels.includes(l)))
        assert.equal(native.setLevel(level), false, `${level} is refused where the CPU lacks it`);
      assert.equal(native.features().active, 'portable', 'a refused level changes nothing');
      assert.throws(() => native.setLevel('sse9' as KernelLevel), /unknown kernel level sse9/);
      native.setLevel(features.best);
    });

    it('prefetches weights as measured for the CPU vendor, or as PIXTRAL_PREFETCH says', () => {
      // Decided once when the addon loads, so each case is a fresh process.
      const prefetchIn = (value?: string) => {
        const env = { ...process.env };
        delete env.PIXTRAL_PREFETCH;
        if (value !== undefined) env.PIXTRAL_PREFETCH = value;
        const script = `process.stdout.write(require(${JSON.stringify(nativeAddonPath())}).features().prefetch)`;
        return execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
      };
      // The vendor as Linux names it (elsewhere the default is taken as it is, and only the override is checked).
      const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : null;
      const vendorDefault =
        cpuinfo === null
          ? native.features().prefetch
          : process.arch === 'x64' && /GenuineIntel/.test(cpuinfo)
            ? 'l2:3072'
            : 'l1:4096';
      if (process.env.PIXTRAL_PREFETCH === undefined) assert.equal(native.features().prefetch, vendorDefault);
      assert.equal(prefetchIn(), vendorDefault);
      assert.equal(prefetchIn('l1:2048'), 'l1:2048');
      assert.equal(prefetchIn('l2:8192'), 'l2:8192');
      for (const unusable of ['l3:4096', 'l1:', 'l2:32', 'fast'])
        assert.equal(prefetchIn(unusable), vendorDefault, `${unusable} leaves the default`);
    });

    for (const level of levels) {
      describe(level, () => {
        for (const [name, format, dtype, toBits] of [
          ['bf16', NativeFormat.Bf16, 'BF16', bf16],
          [
            'f16 (GGUF F16 tensors)',
            NativeFormat.F16,
            'F16',
            (v: Float32Array) => Uint16Array.from(v, floatToHalf),
          ],
        ] as const) {
          it(`${name} matmul equals the reference backend (widths not multiples of 32 too)`, () => {
            native.setLevel(level);
            const reference = new ReferenceBackend();
            for (const { tokens, k, n } of [
              ...SHAPES,
              { tokens: 2, k: 100, n: 7 },
              { tokens: 4, k: 7, n: 3 },
            ]) {
              const x = randomMatrix(tokens, k);
              const wBits = toBits(randomMatrix(n, k, 0.05));
              const y = new Float32Array(tokens * n);
              native.matmul(format, x, tokens, k, wBits, n, y);
              const weight = reference.weight({
                name: 'w',
                dtype,
                shape: [n, k],
                data: new Uint8Array(wBits.buffer),
              });
              const expected = reference.matmul(tensor([tokens, k], x), weight).data;
              assert.ok(maxRelativeError(y, expected) < 1e-5, `${level} ${tokens}×${k}×${n}`);
            }
          });
        }

        it('ggml K-quant blocks (Q4_K, Q5_K, Q6_K) as stored: the exact dot of int8 activations with their values', () => {
          native.setLevel(level);
          for (const [name, format, blockBytes] of [
            ['Q4_K', NativeFormat.Q4K, 144],
            ['Q5_K', NativeFormat.Q5K, 176],
            ['Q6_K', NativeFormat.Q6K, 210],
          ] as const) {
            for (const { tokens, k, n } of [
              { tokens: 1, k: 256, n: 3 },
              { tokens: 3, k: 768, n: 37 },
              { tokens: 5, k: 512, n: 66 },
            ]) {
              const w = randomKQuantRows(name, blockBytes, n, k);
              const x = randomMatrix(tokens, k);
              const y = new Float32Array(tokens * n);
              native.matmul(format, x, tokens, k, w, n, y);
              const values = ggmlDequantize(ggmlTypeByName(name)!, w, n * k);
              const exact = emulateInt8Activations(x, tokens, k, values, n);
              assert.ok(
                maxRelativeError(y, exact) < 1e-5,
                `${level} ${name} ${tokens}×${k}×${n}: ${maxRelativeError(y, exact)}`,
              );
            }
          }
        });

        for (const [name, format] of [
          ['q8', NativeFormat.Q8],
          ['q4', NativeFormat.Q4],
        ] as const) {
          it(`${name} matmul equals the exact block arithmetic, and stays close to full precision`, () => {
            native.setLevel(level);
            for (const { tokens, k, n } of SHAPES) {
              const x = randomMatrix(tokens, k);
              const w = randomMatrix(n, k, 0.05);
              const blocks = new Uint8Array(n * rowBytes(format, k));
              native.quantize(format, w, n, k, blocks);
              const y = new Float32Array(tokens * n);
              native.matmul(format, x, tokens, k, blocks, n, y);
              const deq = dequantize(format, blocks, n, k);
              assert.ok(
                maxRelativeError(y, emulateQuantizedMatmul(x, tokens, k, deq, n)) < 1e-5,
                `${tokens}×${k}×${n}`,
              );

              // Against unquantized float math, relative to |x|·|w| per output (the dot product's natural scale).
              const exact = new Float64Array(tokens * n);
              let worst = 0;
              for (let t = 0; t < tokens; t++)
                for (let o = 0; o < n; o++) {
                  let s = 0;
                  let xx = 0;
                  let ww = 0;
                  for (let i = 0; i < k; i++) {
                    s += x[t * k + i]! * w[o * k + i]!;
                    xx += x[t * k + i]! ** 2;
                    ww += w[o * k + i]! ** 2;
                  }
                  exact[t * n + o] = s;
                  worst = Math.max(worst, Math.abs(y[t * n + o]! - s) / Math.sqrt(xx * ww));
                }
              const bound = format === NativeFormat.Q8 ? 0.01 : 0.1;
              assert.ok(worst < bound, `${name} ${tokens}×${k}×${n} vs float: ${worst}`);
            }
          });
        }
      });
    }

    for (const [name, rowsFormat, panelFormat] of [
      ['q4', NativeFormat.Q4, NativeFormat.Q4P],
      ['q8', NativeFormat.Q8, NativeFormat.Q8P],
    ] as const)
      it(`${name} panels: made in place only where the level prefers them; every level computes them as the rows`, () => {
        const PANEL_SHAPES = [
          { tokens: 1, k: 32, n: 16 },
          { tokens: 1, k: 160, n: 80 }, // decode; a last group of one block
          { tokens: 9, k: 96, n: 32 }, // one token past the 8-token call
          { tokens: 33, k: 160, n: 144 },
          { tokens: 70, k: 1024, n: 64 }, // across the 64-token tile
        ];
        for (const { tokens, k, n } of PANEL_SHAPES) {
          const x = randomMatrix(tokens, k);
          const rows = new Uint8Array(n * rowBytes(rowsFormat, k));
          native.quantize(rowsFormat, randomMatrix(n, k, 0.05), n, k, rows);
          const panels = toPanels(rowsFormat, rows, n, k);
          for (const level of levels) {
            native.setLevel(level);
            const packed = rows.slice();
            const prefers = native.packPanels(rowsFormat, packed, n, k);
            assert.equal(prefers, level === 'avx512' || level === 'avx2', `${level} prefers panels`);
            assert.deepEqual(packed, prefers ? panels : rows, `${level}: the layout of formats.h`);
            const fromRows = new Float32Array(tokens * n);
            native.matmul(rowsFormat, x, tokens, k, rows, n, fromRows);
            const fromPanels = new Float32Array(tokens * n);
            native.matmul(panelFormat, x, tokens, k, panels, n, fromPanels);
            assert.ok(
              maxRelativeError(fromPanels, fromRows) < 1e-5,
              `${level} ${tokens}×${k}×${n}: ${maxRelativeError(fromPanels, fromRows)}`,
            );
          }
        }
        native.setLevel(native.features().best);
        // Not a whole number of panels: left as rows.
        const odd = new Uint8Array(20 * rowBytes(rowsFormat, 64));
        native.quantize(rowsFormat, randomMatrix(20, 64), 20, 64, odd);
        const before = odd.slice();
        assert.equal(native.packPanels(rowsFormat, odd, 20, 64), false);
        assert.deepEqual(odd, before);
        assert.throws(
          () => native.matmul(panelFormat, new Float32Array(64), 1, 64, odd, 20, new Float32Array(20)),
          /panels need n to be a multiple of 16/,
        );
      });

    it('quantized weights read back within half a step of each block scale (q4: one step where clamped)', () => {
      const k = 64;
      const w = randomMatrix(9, k);
      for (const format of [NativeFormat.Q8, NativeFormat.Q4]) {
        const blocks = new Uint8Array(9 * rowBytes(format, k));
        native.quantize(format, w, 9, k, blocks);
        const { values, scales } = dequantize(format, blocks, 9, k);
        for (let i = 0; i < w.length; i++) {
          const step = Math.abs(scales[Math.floor(i / 32)]!);
          // q4_0 maps the largest magnitude to −8, so the far end of the other side may clamp at +7 (one step).
          assert.ok(
            Math.abs(values[i]! * scales[Math.floor(i / 32)]! - w[i]!) <=
              step * (format === NativeFormat.Q8 ? 0.5 : 1) * (1 + 1e-3),
          );
        }
      }
    });

    it('gives the same results with one thread as with all of them, and with more threads than cores', () => {
      // q4 rows, and q4 panels: 23 panels in units of four, split into uneven per-thread ranges that the threads
      // then take from one another (with 5 threads on 2 cores, most units are taken from another's range).
      const { tokens, k, n } = { tokens: 7, k: 256, n: 368 };
      const x = randomMatrix(tokens, k);
      const w = randomMatrix(n, k, 0.1);
      const rows = new Uint8Array(n * rowBytes(NativeFormat.Q4, k));
      native.quantize(NativeFormat.Q4, w, n, k, rows);
      const panels = toPanels(NativeFormat.Q4, rows, n, k);
      const threads = native.features().threads;
      try {
        for (const [format, weights] of [
          [NativeFormat.Q4, rows],
          [NativeFormat.Q4P, panels],
        ] as const) {
          const run = (count: number) => {
            native.setThreads(count);
            const y = new Float32Array(tokens * n);
            native.matmul(format, x, tokens, k, weights, n, y);
            return y;
          };
          const all = run(threads);
          assert.deepEqual(run(1), all, `format ${format}, one thread`);
          assert.deepEqual(run(5), all, `format ${format}, five threads`);
        }
      } finally {
        native.setThreads(threads);
      }
    });

    it('rejects buffers that are too short instead of reading past them', () => {
      assert.throws(
        () =>
          native.matmul(
            NativeFormat.Q8,
            new Float32Array(32),
            1,
            32,
            new Uint8Array(10),
            1,
            new Float32Array(1),
          ),
        /w too short/,
      );
      assert.throws(
        () => native.quantize(NativeFormat.Q8, new Float32Array(10), 1, 10, new Uint8Array(100)),
        /bad format/,
      );
    });
  },
);

interface AttentionCase {
  queries: number;
  keys: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** The addon's attention into a fresh output: float32 K/V, or f16 (format 1), contiguous or in pages. */
function nativeAttention(
  c: AttentionCase,
  q: Float32Array,
  k: Float32Array | Uint16Array | Uint16Array[],
  v: Float32Array | Uint16Array | Uint16Array[],
  scale: number,
  queryStart: number,
  kv: { format: number; pagePositions: number } = { format: 0, pagePositions: 0 },
): Float32Array {
  const out = new Float32Array(c.queries * c.heads * c.headDim);
  addon!.attention(
    q,
    k,
    v,
    out,
    c.queries,
    c.keys,
    c.heads,
    c.kvHeads,
    c.headDim,
    scale,
    queryStart,
    kv.format,
    undefined,
    undefined,
    false,
    kv.pagePositions,
  );
  return out;
}

describe(
  'native attention',
  { skip: addon ? false : `native addon unavailable: ${nativeUnavailableReason()}` },
  () => {
    it('equals the reference on every level: grouped heads, causal and unmasked, tiles and blocks of odd sizes', () => {
      const reference = new ReferenceBackend();
      const cases = [
        { queries: 1, keys: 1, heads: 4, kvHeads: 1, headDim: 16, queryStart: 0 },
        { queries: 1, keys: 130, heads: 8, kvHeads: 2, headDim: 128, queryStart: 129 },
        { queries: 7, keys: 70, heads: 4, kvHeads: 2, headDim: 64, queryStart: 63 },
        { queries: 33, keys: 33, heads: 2, kvHeads: 2, headDim: 64, queryStart: undefined },
        { queries: 65, keys: 65, heads: 4, kvHeads: 4, headDim: 32, queryStart: 0 },
      ];
      for (const c of cases) {
        const q = tensor([c.queries, c.heads * c.headDim], randomMatrix(c.queries, c.heads * c.headDim));
        const k = tensor([c.keys, c.kvHeads * c.headDim], randomMatrix(c.keys, c.kvHeads * c.headDim));
        const v = tensor([c.keys, c.kvHeads * c.headDim], randomMatrix(c.keys, c.kvHeads * c.headDim));
        const shape = {
          nHeads: c.heads,
          nKvHeads: c.kvHeads,
          headDim: c.headDim,
          scale: 1 / Math.sqrt(c.headDim),
        };
        const withMask = c.queryStart === undefined ? shape : { ...shape, queryStart: c.queryStart };
        const expected = reference.attention(q, k, v, withMask).data;
        onEveryLevel((level) => {
          const out = nativeAttention(c, q.data, k.data, v.data, shape.scale, c.queryStart ?? -1);
          assert.ok(maxRelativeError(out, expected) < 1e-5, `${level} ${JSON.stringify(c)}`);
        });
      }
    });

    it('reads an f16 cache in place when decoding, contiguous or in pages, on every level', () => {
      const reference = new ReferenceBackend();
      const F16 = 1;
      // Decode shapes: 1–3 queries of grouped heads (4 query rows per kv head as in Pixtral, 8, 6, 3 and 1), keys
      // across the 64-key tile, the 16-key score blocks and the per-core chunks (several tiles each, so the next
      // tile is prefetched); pages of the cache's 256 positions and of odd sizes.
      const cases = [
        { queries: 1, keys: 1, heads: 32, kvHeads: 8, headDim: 128, pages: 0 },
        { queries: 1, keys: 17, heads: 8, kvHeads: 2, headDim: 128, pages: 0 },
        { queries: 1, keys: 300, heads: 32, kvHeads: 8, headDim: 128, pages: 0 },
        { queries: 1, keys: 300, heads: 8, kvHeads: 2, headDim: 128, pages: 48 },
        { queries: 2, keys: 259, heads: 8, kvHeads: 2, headDim: 64, pages: 100 },
        { queries: 1, keys: 77, heads: 6, kvHeads: 2, headDim: 64, pages: 0 },
        { queries: 2, keys: 700, heads: 6, kvHeads: 2, headDim: 128, pages: 256 },
        { queries: 1, keys: 513, heads: 4, kvHeads: 4, headDim: 64, pages: 7 },
        { queries: 1, keys: 40, heads: 4, kvHeads: 1, headDim: 48, pages: 0 },
      ];
      for (const c of cases) {
        const width = c.kvHeads * c.headDim;
        const q = tensor([c.queries, c.heads * c.headDim], randomMatrix(c.queries, c.heads * c.headDim, 2));
        const kHalf = Uint16Array.from(randomMatrix(c.keys, width, 2), floatToHalf);
        const vHalf = Uint16Array.from(randomMatrix(c.keys, width), floatToHalf);
        const asFloat = (h: Uint16Array) => tensor([c.keys, width], Float32Array.from(h, f16ToF32));
        const shape = {
          nHeads: c.heads,
          nKvHeads: c.kvHeads,
          headDim: c.headDim,
          scale: 1 / Math.sqrt(c.headDim),
          queryStart: c.keys - c.queries,
        };
        const expected = reference.attention(q, asFloat(kHalf), asFloat(vHalf), shape).data;
        const paged = (h: Uint16Array) => {
          const pages: Uint16Array[] = [];
          for (let p = 0; p < c.keys; p += c.pages) {
            const page = new Uint16Array(c.pages * width);
            page.set(h.subarray(p * width, Math.min(c.keys, p + c.pages) * width));
            pages.push(page);
          }
          return pages;
        };
        onEveryLevel((level) => {
          const out = nativeAttention(
            c,
            q.data,
            c.pages ? paged(kHalf) : kHalf,
            c.pages ? paged(vHalf) : vHalf,
            shape.scale,
            shape.queryStart,
            { format: F16, pagePositions: c.pages },
          );
          assert.ok(
            maxRelativeError(out, expected) < 1e-5,
            `${level} ${JSON.stringify(c)}: ${maxRelativeError(out, expected)}`,
          );
        });
      }
    });
  },
);

describe(
  'native element-wise operations',
  { skip: addon ? false : `native addon unavailable: ${nativeUnavailableReason()}` },
  () => {
    it('quantizes activations for the matmuls to the same bytes on every level: ties to even, q4 split order', () => {
      const k = 32 * 7; // q4's split order in groups of four blocks: one whole group, then a group of three
      const x = randomMatrix(1, k, 3);
      x.fill(0, 32, 64); // an all-zero block: scale 0, every value 0
      // A block whose largest magnitude is 127 (scale 1): ±n.5 values are ties, which go to the even neighbour.
      x.set([127, 2.5, -3.5, 0.5, -0.5, 1.5, 126.5, -126.5], 64);
      x[100] = 1e6; // one huge value flattens the rest of its block to 0 and ±1
      const blocks = k / 32;
      const splitIndex = (b: number, j: number) => {
        const first = Math.floor(b / 4) * 4;
        return first * 32 + (j < 16 ? 0 : 16 * Math.min(4, blocks - first)) + (b - first) * 16 + (j & 15);
      };
      for (const split of [false, true]) {
        const q = new Int8Array(k);
        const scales = new Float32Array(blocks);
        const offsets = new Float32Array(blocks);
        for (let b = 0; b < blocks; b++) {
          let max = 0;
          for (let j = 0; j < 32; j++) max = Math.max(max, Math.abs(x[b * 32 + j]!));
          const s = Math.fround(max / 127);
          const inv = s > 0 ? Math.fround(1 / s) : 0;
          let total = 0;
          for (let j = 0; j < 32; j++) {
            const value = roundHalfEven(Math.fround(x[b * 32 + j]! * inv));
            total += value;
            q[split ? splitIndex(b, j) : b * 32 + j] = value;
          }
          scales[b] = s;
          offsets[b] = Math.fround(total * 8 * s);
        }
        if (!split) assert.deepEqual([...q.slice(64, 72)], [127, 2, -4, 0, 0, 2, 126, -126]); // the ties, as meant
        onEveryLevel((level) => {
          const got = {
            q: new Int8Array(k),
            scales: new Float32Array(blocks),
            offsets: new Float32Array(blocks),
          };
          addon!.quantizeActivations(x, k, split, got.q, got.scales, got.offsets);
          assert.deepEqual(got.q, q, `${level} values (split ${split})`);
          assert.deepEqual(got.scales, scales, `${level} scales`);
          assert.deepEqual(got.offsets, offsets, `${level} offsets`);
        });
      }
    });

    it('toHalf rounds to nearest even like the reference on every level: ties, denormals, overflow, signs', () => {
      const values = [
        0,
        -0,
        1,
        -1,
        65504,
        65519.99,
        65520,
        -70000,
        1e-8,
        -3e-5,
        6.1e-5,
        5.96e-8,
        2.98e-8,
        2.99e-8,
        Infinity,
        -Infinity,
        NaN,
        // exact ties between two halves: 1 + 2^-11 (rounds down to even), 1 + 3·2^-11 (rounds up to even)
        1 + 2 ** -11,
        1 + 3 * 2 ** -11,
        -(1 + 2 ** -11),
        2049,
        2051,
      ];
      const src = Float32Array.from(
        { length: 67 },
        (_, i) => values[i % values.length]! * (i < 40 ? 1 : 0.5),
      );
      const expected = new Uint16Array(src.length);
      for (let i = 0; i < src.length; i++) expected[i] = floatToHalf(src[i]!);
      onEveryLevel((level) => {
        const out = new Uint16Array(src.length + 5);
        addon!.toHalf(src, out, 5);
        assert.deepEqual(out.subarray(5), expected, level);
        assert.throws(() => addon!.toHalf(src, new Uint16Array(src.length), 1), /dst too short/);
      });
    });

    it('rmsNorm, rope, siluMul, gelu and add equal the reference backend on every level', async () => {
      const { NativeBackend } = await import('../src/backend/native/native-backend.js');
      const { ropeFrequencies, rope1d } = await import('../src/model/rope.js');
      const native = new NativeBackend(addon!);
      const reference = new ReferenceBackend();
      for (const [rows, width] of [
        [1, 20],
        [7, 5120],
        [70, 1000],
      ] as const) {
        const x = tensor([rows, width], randomMatrix(rows, width, 3));
        const y = tensor([rows, width], randomMatrix(rows, width, 3));
        const raw = {
          name: 'n',
          dtype: 'BF16' as const,
          shape: [width],
          data: new Uint8Array(bf16(randomMatrix(1, width)).buffer),
        };
        onEveryLevel((level) => {
          const close = (a: Float32Array, b: Float32Array, tol: number, what: string) =>
            assert.ok(
              maxRelativeError(a, b) < tol,
              `${level} ${what} ${rows}×${width}: ${maxRelativeError(a, b)}`,
            );
          close(
            native.rmsNorm(x, native.weight(raw), 1e-5).data,
            reference.rmsNorm(x, reference.weight(raw), 1e-5).data,
            1e-6,
            'rmsNorm',
          );
          close(native.siluMul(x, y).data, reference.siluMul(x, y).data, 1e-6, 'siluMul');
          close(native.gelu(x).data, reference.gelu(x).data, 1e-6, 'gelu');
          close(native.add(x, y).data, reference.add(x, y).data, 1e-7, 'add');
          const halves = new Uint16Array(x.data.length + 3);
          const expectedHalves = new Uint16Array(x.data.length + 3);
          native.toHalf(x.data, halves, 3);
          reference.toHalf(x.data, expectedHalves, 3);
          assert.deepEqual(halves, expectedHalves, `${level} toHalf ${rows}×${width}`);
          if (width % 20 === 0) {
            const angles = rope1d(ropeFrequencies(20, 1e9), 3, rows);
            close(
              native.rope(x, width / 20, angles).data,
              reference.rope(x, width / 20, angles).data,
              1e-6,
              'rope',
            );
          }
        });
      }
    });
  },
);

/**
 * q4 / q8 rows → 16-row panels, written from formats.h's description (independent of the addon's packer): per
 * panel and block, vectors of 64 bytes (lane r = row r's bytes 4m..4m+3; q8 values stored +128), then 16 scales.
 */
function toPanels(format: NativeFormat, rows: Uint8Array, n: number, k: number): Uint8Array {
  const q8 = format === NativeFormat.Q8;
  const valueBytes = q8 ? 32 : 16;
  const vectors = valueBytes / 4;
  const rowBytes = (k / 32) * (valueBytes + 2);
  const blockBytes = 64 * vectors + 32;
  const out = new Uint8Array(rows.length);
  for (let p = 0; p < n / 16; p++)
    for (let b = 0; b < k / 32; b++) {
      const block = p * 16 * rowBytes + b * blockBytes;
      for (let r = 0; r < 16; r++) {
        const row = (p * 16 + r) * rowBytes;
        for (let m = 0; m < vectors; m++)
          for (let j = 0; j < 4; j++) {
            const byte = rows[row + valueBytes * b + 4 * m + j]!;
            out[block + 64 * m + 4 * r + j] = q8 ? byte ^ 0x80 : byte;
          }
        out[block + 64 * vectors + 2 * r] = rows[row + (k / 32) * valueBytes + 2 * b]!;
        out[block + 64 * vectors + 2 * r + 1] = rows[row + (k / 32) * valueBytes + 2 * b + 1]!;
      }
    }
  return out;
}
