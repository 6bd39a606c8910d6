/**
 * The GGUF container and ggml's block formats: a written file reads back the same (metadata of every type,
 * tensors of every export type at aligned offsets); the K-quant decoders unpack blocks packed here from chosen
 * scales, mins and values; corrupt or unsupported files fail with the file's name and the problem.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { floatToHalf } from '../src/backend/kv-format.js';
import { f16ToF32 } from '../src/checkpoint/dtype.js';
import { dequantize, quantize } from '../src/checkpoint/gguf/ggml-blocks.js';
import { type GgmlType, ggmlTypeByName } from '../src/checkpoint/gguf/ggml-types.js';
import { GgufError, GgufValueType, readGguf, tensorBytes } from '../src/checkpoint/gguf/gguf-file.js';
import { gguf, writeGguf } from '../src/checkpoint/gguf/gguf-writer.js';
import { SeededRandom } from '../src/generate/random.js';
import { pixtral } from './helpers/cli.js';
import { assertOneLineFailure } from './helpers/cli-failure.js';

const dir = mkdtempSync(join(tmpdir(), 'pixtral-gguf-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const type = (name: string): GgmlType => ggmlTypeByName(name)!;
const random = new SeededRandom(5);
const values = (n: number, scale = 1) =>
  Float32Array.from({ length: n }, () => (random.next() - 0.5) * 2 * scale);

describe('GGUF files', () => {
  it('reads back what it wrote: metadata of every type, tensors aligned, bytes unchanged', () => {
    const metadata = new Map([
      ['general.architecture', gguf.string('llama')],
      ['general.alignment', gguf.u32(64)],
      ['llama.context_length', gguf.u32(131072)],
      ['llama.rope.freq_base', gguf.f32(1e9)],
      ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
      ['tokenizer.ggml.tokens', gguf.strings(['<unk>', '<s>', 'héllo', ''])],
      ['tokenizer.ggml.token_type', gguf.array(GgufValueType.INT32, [2, 3, 1, -1])],
      ['test.u8', { type: GgufValueType.UINT8, value: 255 }],
      ['test.i8', { type: GgufValueType.INT8, value: -128 }],
      ['test.u16', { type: GgufValueType.UINT16, value: 65535 }],
      ['test.i16', { type: GgufValueType.INT16, value: -32768 }],
      ['test.i32', gguf.i32(-7)],
      ['test.u64', { type: GgufValueType.UINT64, value: 2n ** 63n }],
      ['test.i64', { type: GgufValueType.INT64, value: -5 }],
      ['test.f64', { type: GgufValueType.FLOAT64, value: Math.PI }],
    ] as const);
    const tensors = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0'].map((name, i) => ({
      name: `blk.${i}.weight`,
      dims: [64, 3 + i],
      type: type(name),
      data: quantize(type(name), values(64 * (3 + i))),
    }));
    const path = join(dir, 'round-trip.gguf');
    writeGguf(path, metadata, tensors);
    const file = readGguf(path);
    assert.equal(file.version, 3);
    assert.equal(file.alignment, 64);
    assert.deepEqual([...file.metadata], [...metadata]);
    assert.deepEqual(
      file.tensors.map((t) => [t.name, t.dims, t.type.name]),
      tensors.map((t) => [t.name, t.dims, t.type.name]),
    );
    for (const [i, t] of file.tensors.entries()) {
      assert.equal(t.offset % 64, 0, `${t.name} aligned`);
      assert.deepEqual(tensorBytes(file, t), tensors[i]!.data, t.name);
    }
  });

  it('Q8_0 and Q4_0 round values as ggml does and stay within half a step of their scale', () => {
    for (const name of ['Q8_0', 'Q4_0']) {
      const x = values(32 * 16, 3);
      const blocks = quantize(type(name), x);
      const y = dequantize(type(name), blocks, x.length);
      const size = type(name).blockBytes;
      for (let b = 0; b < 16; b++) {
        const d = Math.abs(f16ToF32(new DataView(blocks.buffer).getUint16(b * size, true)));
        for (let j = 0; j < 32; j++) {
          const i = 32 * b + j;
          // Half a step, plus the scale's own f16 rounding times the largest value (127 or 8 steps); Q4_0 maps
          // the largest magnitude to −8, so +8 is clipped to +7: one step at most there.
          const bound = name === 'Q4_0' ? d * (1 + 8 * 2 ** -11) : d * (0.5 + 127 * 2 ** -11);
          assert.ok(Math.abs(y[i]! - x[i]!) <= bound, `${name} value ${i}: ${x[i]} → ${y[i]}`);
        }
      }
    }
    // ggml's Q8_0 rounds halves away from zero (roundf): −2.5 steps → −3.
    const halves = new Float32Array(32).fill(0);
    halves[0] = 127;
    halves[1] = -2.5;
    halves[2] = 2.5;
    const q = quantize(type('Q8_0'), halves);
    assert.deepEqual([q[2], (q[3]! << 24) >> 24, q[4]], [127, -3, 3]);
  });

  it('F16 and BF16 round to nearest even; F32 is exact', () => {
    const x = Float32Array.from([1, -2.5, 65504, 1e-8, 3.14159, 1 / 3]);
    assert.deepEqual(dequantize(type('F32'), quantize(type('F32'), x), x.length), x);
    const half = dequantize(type('F16'), quantize(type('F16'), x), x.length);
    x.forEach((v, i) => assert.equal(half[i], f16ToF32(floatToHalf(v))));
    const bf = dequantize(type('BF16'), quantize(type('BF16'), x), x.length);
    x.forEach((v, i) => assert.ok(Math.abs(bf[i]! - v) <= Math.abs(v) * 2 ** -8, `bf16 ${v} → ${bf[i]}`));
  });

  it('unpacks Q4_K, Q5_K and Q6_K blocks: d·scale·q − dmin·min, with the packed 6-bit scales', () => {
    const d = 0.0625;
    const dmin = 0.125;
    const scales = Array.from({ length: 8 }, () => Math.floor(random.next() * 64));
    const mins = Array.from({ length: 8 }, () => Math.floor(random.next() * 64));
    const q = Array.from({ length: 256 }, () => Math.floor(random.next() * 32)); // 5 bits; Q4_K uses q & 15
    // The 12 bytes of 6-bit scales and mins, packed as ggml lays them out (the inverse of get_scale_min_k4).
    const packed = new Uint8Array(12);
    for (let j = 0; j < 8; j++) {
      if (j < 4) {
        packed[j] = scales[j]!;
        packed[j + 4] = mins[j]!;
      } else {
        packed[j + 4] = (scales[j]! & 0xf) | ((mins[j]! & 0xf) << 4);
        packed[j - 4]! |= (scales[j]! >> 4) << 6;
        packed[j]! |= (mins[j]! >> 4) << 6;
      }
    }
    for (const name of ['Q4_K', 'Q5_K']) {
      const fifth = name === 'Q5_K';
      const block = new Uint8Array(type(name).blockBytes);
      const view = new DataView(block.buffer);
      view.setUint16(0, floatToHalf(d), true);
      view.setUint16(2, floatToHalf(dmin), true);
      block.set(packed, 4);
      const low = fifth ? 48 : 16;
      for (let chunk = 0; chunk < 4; chunk++)
        for (let l = 0; l < 32; l++) {
          const [a, b] = [q[64 * chunk + l]!, q[64 * chunk + 32 + l]!];
          block[low + 32 * chunk + l] = (a & 0xf) | ((b & 0xf) << 4);
          if (fifth) block[16 + l]! |= ((a >> 4) << (2 * chunk)) | ((b >> 4) << (2 * chunk + 1));
        }
      const y = dequantize(type(name), block, 256);
      for (let i = 0; i < 256; i++) {
        const sub = Math.floor(i / 32);
        const value = fifth ? q[i]! : q[i]! & 0xf;
        const expected = Math.fround(Math.fround(d * scales[sub]!) * value) - Math.fround(dmin * mins[sub]!);
        assert.equal(y[i], Math.fround(expected), `${name} value ${i}`);
      }
    }
    // Q6_K: 6-bit values (stored + 32), int8 scales per 16 values.
    const q6 = Array.from({ length: 256 }, () => Math.floor(random.next() * 64));
    const sc = Array.from({ length: 16 }, () => Math.floor(random.next() * 256) - 128);
    const block = new Uint8Array(210);
    for (let half = 0; half < 2; half++)
      for (let l = 0; l < 32; l++) {
        const v = [0, 32, 64, 96].map((k) => q6[128 * half + k + l]!);
        block[64 * half + l] = (v[0]! & 0xf) | ((v[2]! & 0xf) << 4);
        block[64 * half + 32 + l] = (v[1]! & 0xf) | ((v[3]! & 0xf) << 4);
        block[128 + 32 * half + l] =
          (v[0]! >> 4) | ((v[1]! >> 4) << 2) | ((v[2]! >> 4) << 4) | ((v[3]! >> 4) << 6);
      }
    sc.forEach((s, i) => new DataView(block.buffer).setInt8(192 + i, s));
    new DataView(block.buffer).setUint16(208, floatToHalf(d), true);
    const y = dequantize(type('Q6_K'), block, 256);
    for (let i = 0; i < 256; i++)
      assert.equal(
        y[i],
        Math.fround(Math.fround(d * sc[Math.floor(i / 16)]!) * (q6[i]! - 32)),
        `Q6_K value ${i}`,
      );
  });

  it('names the file and the problem: not GGUF, truncated, unsupported type or version', () => {
    const path = join(dir, 'ok.gguf');
    writeGguf(
      path,
      [['general.architecture', gguf.string('llama')]],
      [{ name: 'w', dims: [32, 2], type: type('Q8_0'), data: quantize(type('Q8_0'), values(64)) }],
    );
    const good = readFileSync(path);
    const broken = (name: string, bytes: Uint8Array, problem: RegExp) => {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      assert.throws(
        () => readGguf(file),
        (err: unknown) =>
          err instanceof GgufError && err.message.startsWith(file) && problem.test(err.message),
      );
    };
    broken('magic.gguf', Buffer.from('not a gguf file at all'), /not a GGUF file/);
    const v1 = Buffer.from(good);
    v1.writeUInt32LE(1, 4);
    broken('v1.gguf', v1, /GGUF version 1 is not supported/);
    broken('header.gguf', good.subarray(0, 40), /header is truncated/);
    const truncated = join(dir, 'data.gguf');
    writeFileSync(truncated, good);
    truncateSync(truncated, good.length - 40); // past the 28 bytes of padding, into the data
    assert.throws(() => readGguf(truncated), /data\.gguf: tensor w needs bytes .* truncated/);
    // The tensor's type id (after its name, dims): Q3_K (11) is not supported.
    const q3 = Buffer.from(good);
    const at = q3.indexOf(Buffer.from('w')) + 1 + 4 + 16;
    assert.equal(q3.readUInt32LE(at), 8);
    q3.writeUInt32LE(11, at);
    broken('q3k.gguf', q3, /tensor w is stored as Q3_K \(type 11\), which is not supported/);
  });

  it('`pixtral inspect FILE.gguf` shows the metadata and tensors; a corrupt file is one line', () => {
    const path = join(dir, 'inspect.gguf');
    writeGguf(
      path,
      [
        ['general.architecture', gguf.string('llama')],
        ['tokenizer.ggml.tokens', gguf.strings(Array.from({ length: 100 }, (_, i) => `t${i}`))],
      ],
      [
        {
          name: 'token_embd.weight',
          dims: [32, 4],
          type: type('Q8_0'),
          data: quantize(type('Q8_0'), values(128)),
        },
      ],
    );
    const shown = pixtral(['inspect', path]);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /GGUF v3/);
    assert.match(shown.stdout, /tensors {4}1: 1 Q8_0/);
    assert.match(shown.stdout, /general\.architecture\s+"llama"/);
    assert.match(shown.stdout, /tokenizer\.ggml\.tokens\s+"\[100 × string\]"/);
    const json = JSON.parse(pixtral(['inspect', path, '--json']).stdout) as { tensors: number };
    assert.equal(json.tensors, 1);
    const bad = join(dir, 'bad.gguf');
    writeFileSync(bad, 'GGUF but not really');
    assertOneLineFailure(pixtral(['inspect', bad]), /bad\.gguf: /, 2);
  });
});
