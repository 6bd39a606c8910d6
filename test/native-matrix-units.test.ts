/**
 * The matrix units — AMX tiles (Intel Sapphire Rapids and later) and AVX512_BF16's vdpbf16ps (Zen 4/5), which take
 * prompt-sized matmuls and the vision attention — against the VNNI/FMA kernels, the reference and the float64
 * emulation: q8/q4 (AMX) give the same products from the same int8 activations; bf16 weights with bf16
 * activations equal the reference fed the rounded activations; the bf16 attention equals float attention on
 * rounded inputs within the rounding of its weights. Shapes cross the units' token steps and spans (AMX 32 and
 * 1024, vdpbf16ps 12 and 4096), their row bands and widths that are not multiples of 64.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadNativeAddon, NativeFormat } from '../src/backend/native/addon.js';
import { ReferenceBackend } from '../src/backend/reference/reference-backend.js';
import { tensor } from '../src/backend/types.js';
import { f32ToBf16Bits } from '../src/checkpoint/dtype.js';
import {
  bf16,
  dequantize,
  emulateQuantizedMatmul,
  maxRelativeError,
  randomMatrix,
  rowBytes,
} from './helpers/kernels.js';

const addon = loadNativeAddon();
const SHAPES = [
  { tokens: 32, k: 32, n: 32 },
  { tokens: 45, k: 96, n: 160 },
  { tokens: 70, k: 1056, n: 288 },
  { tokens: 1100, k: 64, n: 32 },
  { tokens: 4121, k: 32, n: 96 },
  { tokens: 20, k: 64, n: 64 },
];

const features = addon?.features();
const UNITS = [
  {
    unit: 'AMX tiles',
    level: 'amx',
    // Fewest tokens the unit takes a matmul for (matmul_amx.cc / matmul_dpbf16.cc kMinTokens); below it the
    // row kernels do, at full precision.
    minTokens: 32,
    skip: !addon
      ? 'native addon unavailable'
      : !features!.amx
        ? 'this CPU has no AMX, or the kernel did not grant the tile state'
        : false,
  },
  {
    unit: 'AVX512_BF16 (vdpbf16ps)',
    level: 'avx512',
    minTokens: 16,
    skip: !addon
      ? 'native addon unavailable'
      : !features!.levels.includes('avx512') || !features!.avx512bf16
        ? 'this CPU has no AVX-512 with BF16'
        : false,
  },
] as const;

for (const { unit, level, minTokens, skip } of UNITS)
  describe(`native matrix unit: ${unit}`, { skip }, () => {
    const native = addon!;
    // The unit's level with the unit (bf16 activations) or the same level's kernels without it; level restored.
    const matmul = (
      format: NativeFormat,
      x: Float32Array,
      w: Uint8Array | Uint16Array,
      shape: (typeof SHAPES)[0],
      onUnit: boolean,
      bf16Activations = false,
    ) => {
      const before = native.features().active;
      native.setLevel(onUnit ? level : 'avx512');
      const y = new Float32Array(shape.tokens * shape.n);
      native.matmul(format, x, shape.tokens, shape.k, w, shape.n, y, bf16Activations);
      native.setLevel(before);
      return y;
    };
    const attention = (
      q: Float32Array,
      k: Float32Array,
      v: Float32Array,
      [queries, keys, heads, kvHeads, d]: readonly number[],
      start: number,
      bf16: boolean,
    ) => {
      const before = native.features().active;
      native.setLevel(level);
      const out = new Float32Array(queries! * heads! * d!);
      const none = new Float32Array(0);
      native.attention(
        q,
        k,
        v,
        out,
        queries!,
        keys!,
        heads!,
        kvHeads!,
        d!,
        1 / Math.sqrt(d!),
        start,
        0,
        none,
        none,
        bf16,
      );
      native.setLevel(before);
      return out;
    };

    it(
      'is the best level, on by default, and can be switched to the AVX-512 one',
      { skip: level !== 'amx' },
      () => {
        assert.equal(native.features().best, 'amx');
        assert.equal(native.features().active, 'amx');
        assert.equal(native.setLevel('avx512'), true);
        assert.equal(native.features().active, 'avx512');
        assert.equal(native.setLevel('amx'), true);
        assert.equal(native.features().active, 'amx');
      },
    );

    for (const [name, format] of level === 'amx'
      ? ([
          ['q8', NativeFormat.Q8],
          ['q4', NativeFormat.Q4],
        ] as const)
      : []) {
      it(`${name}: the same products as the VNNI kernels and the exact block arithmetic`, () => {
        for (const shape of SHAPES) {
          const { tokens, k, n } = shape;
          const x = randomMatrix(tokens, k);
          const w = randomMatrix(n, k, 0.05);
          const blocks = new Uint8Array(n * rowBytes(format, k));
          native.quantize(format, w, n, k, blocks);
          const tiles = matmul(format, x, blocks, shape, true);
          const vnni = matmul(format, x, blocks, shape, false);
          const label = `${tokens}×${k}×${n}`;
          assert.ok(maxRelativeError(tiles, vnni) < 1e-5, label);
          const exact = emulateQuantizedMatmul(x, tokens, k, dequantize(format, blocks, n, k), n);
          assert.ok(maxRelativeError(tiles, exact) < 1e-5, label);
        }
      });
    }

    it("bf16: with bf16 activations equals the reference on rounded inputs (below the unit's size, full precision); without, stays full precision", () => {
      const reference = new ReferenceBackend();
      for (const shape of SHAPES) {
        const { tokens, k, n } = shape;
        const x = randomMatrix(tokens, k);
        const rounded = Float32Array.from(
          x,
          (v) => new Float32Array(new Uint32Array([f32ToBf16Bits(v) << 16]).buffer)[0]!,
        );
        const wBits = bf16(randomMatrix(n, k, 0.05));
        const weight = reference.weight({
          name: 'w',
          dtype: 'BF16',
          shape: [n, k],
          data: new Uint8Array(wBits.buffer),
        });
        const onRounded = reference.matmul(tensor([tokens, k], rounded), weight).data;
        const onExact = reference.matmul(tensor([tokens, k], x), weight).data;
        const label = `${tokens}×${k}×${n}`;
        // bf16 activations are an allowance: a matmul too small for the unit stays on the full-precision kernels.
        assert.ok(
          maxRelativeError(
            matmul(NativeFormat.Bf16, x, wBits, shape, true, true),
            tokens >= minTokens ? onRounded : onExact,
          ) < 1e-5,
          label,
        );
        assert.ok(
          maxRelativeError(matmul(NativeFormat.Bf16, x, wBits, shape, true, false), onExact) < 1e-5,
          label,
        );
      }
    });

    it('attention: bf16 equals float attention on rounded inputs within bf16 weight rounding; masked stays exact', () => {
      const toBf16 = (x: Float32Array) =>
        Float32Array.from(x, (v) => new Float32Array(new Uint32Array([f32ToBf16Bits(v) << 16]).buffer)[0]!);
      // The last case: every score strongly negative (queries ≥ 0, keys ≤ 0, scaled scores far below exp's
      // clamp at −87), so only a running max taken from the scores themselves keeps the softmax sharp.
      for (const [shape, negative] of [
        ...(level === 'amx' ? [[[16, 64, 1, 1, 32], false] as const] : []),
        [[32, 70, 1, 1, 32], false],
        [[37, 100, 2, 1, 64], false],
        [[70, 97, 2, 2, 128], false],
        [[33, 300, 4, 2, 64], false],
        [[40, 130, 2, 1, 64], true],
      ] as const) {
        const [queries, keys, heads, kvHeads, d] = shape;
        const sign = (x: Float32Array, s: number) => x.map((value) => s * 12 * Math.abs(value));
        const q = negative ? sign(randomMatrix(queries, heads * d), 1) : randomMatrix(queries, heads * d);
        const k = negative ? sign(randomMatrix(keys, kvHeads * d), -1) : randomMatrix(keys, kvHeads * d);
        const v = randomMatrix(keys, kvHeads * d);
        const label = `${queries}×${keys}, ${heads}/${kvHeads} heads of ${d}${negative ? ', negative scores' : ''}`;
        const exactOnRounded = attention(toBf16(q), toBf16(k), toBf16(v), shape, -1, false);
        // Only the softmax weights are rounded beyond the inputs: |ΔO| ≤ 2⁻⁸·Σp·|v| ≤ 2⁻⁸·max|v|.
        let worst = 0;
        const onUnit = attention(q, k, v, shape, -1, true);
        for (let i = 0; i < onUnit.length; i++)
          worst = Math.max(worst, Math.abs(onUnit[i]! - exactOnRounded[i]!));
        const maxV = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        assert.ok(worst <= maxV * 2 ** -8, `${label}: ${worst}`);
        // The unit really ran: its result is not the float one.
        assert.notDeepEqual(onUnit, attention(q, k, v, shape, -1, false), label);
        // A causal mask (the decoder) never takes the bf16 path.
        const start = keys - queries;
        assert.deepEqual(
          attention(q, k, v, shape, start, true),
          attention(q, k, v, shape, start, false),
          label,
        );
      }
    });

    it('gives the same results with one thread as with all of them', () => {
      const shape = { tokens: 100, k: 256, n: 320 };
      const x = randomMatrix(shape.tokens, shape.k);
      const format = level === 'amx' ? NativeFormat.Q4 : NativeFormat.Bf16;
      const w =
        level === 'amx'
          ? new Uint8Array(shape.n * rowBytes(NativeFormat.Q4, shape.k))
          : bf16(randomMatrix(shape.n, shape.k, 0.1));
      if (w instanceof Uint8Array)
        native.quantize(NativeFormat.Q4, randomMatrix(shape.n, shape.k, 0.1), shape.n, shape.k, w);
      const threads = native.features().threads;
      const all = matmul(format, x, w, shape, true, true);
      native.setThreads(1);
      const one = matmul(format, x, w, shape, true, true);
      native.setThreads(threads);
      assert.deepEqual(one, all);
    });
  });
