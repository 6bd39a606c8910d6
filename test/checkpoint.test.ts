import assert from 'node:assert/strict';
import {
  copyFileSync,
  cpSync,
  mkdtempSync,
  readFileSync,
  truncateSync,
  writeFileSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  Checkpoint,
  CheckpointError,
  SafetensorsFile,
  f32ToBf16Bits,
  hfRowsToInterleaved,
  interleavedRowsToHf,
  toFloat32,
  writeSafetensors,
} from '../src/checkpoint/index.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import { scratchDir } from './helpers/scratch.js';

const goldens = loadGoldens();
const consolidatedDir = fixturePath(goldens.model.consolidated);
const hfDir = fixturePath(goldens.model.hf);
const scratch = scratchDir('pixtral-ckpt-');

function copyModel(dir: string, name: string): string {
  const target = join(scratch, name);
  cpSync(dir, target, { recursive: true });
  return target;
}

describe('checkpoint layouts', () => {
  const mistral = Checkpoint.open(consolidatedDir);
  const hf = Checkpoint.open(hfDir);
  after(() => {
    mistral.close();
    hf.close();
  });

  it('detects each layout and reads the same config', () => {
    assert.equal(mistral.layout, 'consolidated');
    assert.equal(hf.layout, 'hf');
    assert.deepEqual(hf.config, mistral.config);
    assert.equal(mistral.config.text.dim, goldens.model.params.dim);
    assert.equal(mistral.config.text.headDim, goldens.model.params.head_dim);
  });

  it('loads both layouts to identical tensors (q/k permutation undone)', () => {
    assert.deepEqual(hf.names(), mistral.names());
    for (const name of mistral.names()) {
      const a = mistral.readRaw(name);
      const b = hf.readRaw(name);
      assert.deepEqual(b.shape, a.shape, name);
      assert.equal(b.dtype, a.dtype, name);
      assert.ok(Buffer.from(a.data).equals(Buffer.from(b.data)), `${name} differs between layouts`);
    }
  });

  it('counts parameters from the config', () => {
    const t = mistral.config.text;
    const v = mistral.config.vision!;
    const decoder =
      2 * t.vocabSize * t.dim +
      t.dim +
      t.nLayers * (2 * t.dim + t.dim * t.headDim * (2 * t.nHeads + 2 * t.nKvHeads) + 3 * t.dim * t.hiddenDim);
    const vision =
      v.hiddenSize * 3 * v.patchSize ** 2 +
      v.hiddenSize +
      v.nLayers * (2 * v.hiddenSize + 4 * v.hiddenSize ** 2 + 3 * v.hiddenSize * v.intermediateSize);
    const adapter = t.dim * v.hiddenSize + t.dim * t.dim + 2 * t.dim;
    assert.equal(mistral.parameterCount(), decoder + vision + adapter);
    assert.deepEqual(mistral.dtypes(), ['BF16']);
    assert.equal(mistral.weightBytes(), 2 * mistral.parameterCount());
  });

  it('finds the tokenizer file of each layout', () => {
    assert.match(mistral.tokenizerFile, /tekken\.json$/);
    assert.match(hf.tokenizerFile, /tokenizer\.json$/);
    assert.deepEqual(hf.image, mistral.image);
  });
});

describe('rope permutation and dtypes', () => {
  it('interleaved → HF → interleaved is the identity and matches the spec formula', () => {
    const heads = 2;
    const headDim = 8;
    const rows = heads * headDim;
    const data = new Uint8Array(rows * 3).map((_, i) => Math.floor(i / 3)); // row r filled with r
    const hfRows = interleavedRowsToHf(data, rows, heads);
    for (let h = 0; h < heads; h++)
      for (let p = 0; p < headDim / 2; p++)
        for (let c = 0; c < 2; c++)
          assert.equal(hfRows[(h * headDim + c * (headDim / 2) + p) * 3], h * headDim + 2 * p + c);
    assert.deepEqual(hfRowsToInterleaved(hfRows, rows, heads), data);
  });

  it('converts bf16 and f16 exactly and rounds f32 → bf16 to nearest even', () => {
    assert.deepEqual([...toFloat32(new Uint8Array([0x80, 0x3f, 0x00, 0xc0]), 'BF16')], [1, -2]);
    assert.deepEqual(
      [...toFloat32(new Uint8Array([0x00, 0x3c, 0x00, 0x80, 0x01, 0x00]), 'F16')],
      [1, -0, 2 ** -24],
    );
    assert.equal(f32ToBf16Bits(1), 0x3f80);
    assert.equal(f32ToBf16Bits(1 + 2 ** -8), 0x3f80); // tie → even
    assert.equal(f32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82); // tie → even (up)
    assert.equal(f32ToBf16Bits(NaN) & 0x7fc0, 0x7fc0);
  });
});

describe('bad checkpoint files', () => {
  const expectError = (fn: () => unknown, ...patterns: RegExp[]) =>
    assert.throws(fn, (err: Error) => {
      assert.ok(err instanceof CheckpointError, `expected CheckpointError, got ${err}`);
      for (const p of patterns) assert.match(err.message, p);
      return true;
    });

  it('a missing model directory', () => {
    expectError(() => Checkpoint.open(join(scratch, 'nope')), /nope: model directory does not exist/);
  });

  it('a folder that is not a model', () => {
    const dir = mkdtempSync(join(scratch, 'empty-'));
    expectError(() => Checkpoint.open(dir), /not a Pixtral model folder/);
  });

  it('a truncated safetensors file', () => {
    const dir = copyModel(consolidatedDir, 'truncated');
    const file = join(dir, 'consolidated.safetensors');
    truncateSync(file, statSync(file).size - 1000);
    expectError(() => Checkpoint.open(dir), /consolidated\.safetensors/, /past the end of the data section/);
  });

  it('a missing tensor, named with its file', () => {
    const dir = copyModel(consolidatedDir, 'missing-tensor');
    const file = join(dir, 'consolidated.safetensors');
    const src = SafetensorsFile.open(file);
    const keep = [...src.tensors.keys()].filter((n) => n !== 'layers.1.ffn_norm.weight');
    const tensors = keep.map((name) => ({ ...src.info(name), name, data: src.read(name) }));
    src.close();
    writeSafetensors(file, tensors);
    expectError(
      () => Checkpoint.open(dir),
      /consolidated\.safetensors/,
      /"layers\.1\.ffn_norm\.weight": missing/,
    );
  });

  it('a tensor with the wrong shape', () => {
    const dir = copyModel(consolidatedDir, 'wrong-shape');
    const params = JSON.parse(readFileSync(join(dir, 'params.json'), 'utf8'));
    params.hidden_dim += 8;
    writeFileSync(join(dir, 'params.json'), JSON.stringify(params));
    expectError(() => Checkpoint.open(dir), /feed_forward\.w1\.weight/, /implies/);
  });

  it('a shard path in the index that escapes the model directory', () => {
    const dir = copyModel(hfDir, 'escape');
    const indexFile = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(indexFile, 'utf8'));
    const first = Object.keys(index.weight_map)[0]!;
    copyFileSync(join(dir, index.weight_map[first]), join(scratch, 'outside.safetensors'));
    index.weight_map[first] = '../outside.safetensors';
    writeFileSync(indexFile, JSON.stringify(index));
    expectError(() => Checkpoint.open(dir), /model\.safetensors\.index\.json/, /outside the model directory/);
    index.weight_map[first] = '/etc/passwd';
    writeFileSync(indexFile, JSON.stringify(index));
    expectError(() => Checkpoint.open(dir), /not a plain file name inside the model directory/);
  });

  it('an invalid params.json', () => {
    const dir = copyModel(consolidatedDir, 'bad-params');
    writeFileSync(join(dir, 'params.json'), '{"dim": 20,');
    expectError(() => Checkpoint.open(dir), /params\.json: is not valid JSON/);
    writeFileSync(join(dir, 'params.json'), JSON.stringify({ dim: 20 }));
    expectError(() => Checkpoint.open(dir), /params\.json: missing required key "n_layers"/);
  });

  describe('safetensors header validation', () => {
    const writeRaw = (name: string, header: unknown, dataBytes: number, lengthOverride?: bigint) => {
      const json = Buffer.from(JSON.stringify(header));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(lengthOverride ?? BigInt(json.byteLength));
      const file = join(scratch, name);
      writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
      return file;
    };

    it('rejects an absurd header length', () => {
      const file = writeRaw('huge-header.safetensors', {}, 0, 1n << 40n);
      expectError(
        () => SafetensorsFile.open(file),
        /huge-header\.safetensors: header length \d+ is out of bounds/,
      );
    });

    it('rejects a header longer than the file', () => {
      const file = writeRaw('short.safetensors', {}, 0, 5000n);
      expectError(() => SafetensorsFile.open(file), /runs past the end of the file/);
    });

    it('rejects unknown dtypes', () => {
      const file = writeRaw(
        'dtype.safetensors',
        { t: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } },
        8,
      );
      expectError(() => SafetensorsFile.open(file), /tensor "t": unsupported dtype "F64"/);
    });

    it('rejects a size that does not match the shape', () => {
      const file = writeRaw('size.safetensors', { t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8);
      expectError(
        () => SafetensorsFile.open(file),
        /tensor "t": holds 8 bytes but shape \[3\] of F32 needs 12/,
      );
    });

    it('rejects overlapping tensors', () => {
      const file = writeRaw(
        'overlap.safetensors',
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        12,
      );
      expectError(() => SafetensorsFile.open(file), /tensor "b": overlaps the data of tensor "a"/);
    });

    it('rejects non-JSON headers and tiny files', () => {
      const file = join(scratch, 'garbage.safetensors');
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(4n);
      writeFileSync(file, Buffer.concat([len, Buffer.from('nope')]));
      expectError(() => SafetensorsFile.open(file), /header is not valid JSON/);
      writeFileSync(file, 'abc');
      expectError(() => SafetensorsFile.open(file), /too small to be safetensors/);
    });

    it('round-trips through the writer and reads lazily by offset', () => {
      const file = join(scratch, 'roundtrip.safetensors');
      const a = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
      const b = new Uint8Array([1, 2, 3, 4]);
      writeSafetensors(
        file,
        [
          { name: 'a', dtype: 'F32', shape: [3], data: a },
          { name: 'b', dtype: 'BF16', shape: [2], data: b },
        ],
        { format: 'pt' },
      );
      const st = SafetensorsFile.open(file);
      assert.deepEqual(st.metadata, { format: 'pt' });
      assert.deepEqual(st.read('b'), b);
      assert.deepEqual(st.read('a'), a);
      assert.equal(st.info('a').offset % 8, 0);
      st.close();
    });
  });
});
