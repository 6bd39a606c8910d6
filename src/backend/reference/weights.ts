/**
 * Reference weights keep the checkpoint's bytes as stored (bf16, f16, f32, or GGUF blocks) and convert one row at
 * a time when used, so a model is never held twice in memory and the arithmetic stays plain float32 (GGUF blocks
 * dequantized exactly: the yardstick the native kernels are checked against).
 */
import { dequantize } from '../../checkpoint/gguf/ggml-blocks.js';
import { type GgmlType, ggmlTypeByName } from '../../checkpoint/gguf/ggml-types.js';
import { toFloat32 } from '../../checkpoint/index.js';
import { BackendUnavailableError } from '../errors.js';
import type { RawWeight, Weight } from '../types.js';

export class ReferenceWeight implements Weight {
  readonly rows: number;
  readonly cols: number;
  private readonly halves: Uint16Array | null = null;
  private readonly floats: Float32Array | null = null;
  private readonly blocks: {
    readonly type: GgmlType;
    readonly data: Uint8Array;
    readonly rowBytes: number;
  } | null = null;

  constructor(raw: RawWeight) {
    this.shape = raw.shape;
    this.rows = raw.shape[0]!;
    this.cols = raw.shape.slice(1).reduce((a, b) => a * b, 1);
    if (raw.ggml) {
      const type = ggmlTypeByName(raw.ggml)!;
      this.dtype = raw.ggml;
      this.blocks = { type, data: raw.data, rowBytes: (this.cols / type.blockValues) * type.blockBytes };
      return;
    }
    if (raw.dtype === 'U8' || raw.quant)
      throw new BackendUnavailableError(
        `${raw.name}: this is a quantized checkpoint; it runs on the native backend only (--backend native)`,
      );
    this.dtype = raw.dtype;
    // Typed-array views need element alignment; copy only when the bytes are not aligned (rare).
    const aligned = raw.data.byteOffset % (raw.dtype === 'F32' ? 4 : 2) === 0 ? raw.data : raw.data.slice();
    if (raw.dtype === 'F32')
      this.floats = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
    else this.halves = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
  }

  readonly shape: readonly number[];
  readonly dtype: string;

  /** Writes row r as float32 into `out` (length cols). */
  row(r: number, out: Float32Array): Float32Array {
    const start = r * this.cols;
    if (this.blocks) {
      const { type, data, rowBytes } = this.blocks;
      out.set(dequantize(type, data.subarray(r * rowBytes, (r + 1) * rowBytes), this.cols));
    } else if (this.floats) {
      out.set(this.floats.subarray(start, start + this.cols));
    } else if (this.dtype === 'BF16') {
      const bits = new Uint32Array(out.buffer, out.byteOffset, this.cols);
      for (let i = 0; i < this.cols; i++) bits[i] = this.halves![start + i]! << 16;
    } else {
      const bytes = new Uint8Array(this.halves!.buffer, this.halves!.byteOffset + start * 2, this.cols * 2);
      out.set(toFloat32(bytes, 'F16'));
    }
    return out;
  }

  /** The whole tensor as float32 (small tensors: norms, biases). */
  toFloat32(): Float32Array {
    const out = new Float32Array(this.rows * this.cols);
    const row = new Float32Array(this.cols);
    for (let r = 0; r < this.rows; r++) out.set(this.row(r, row), r * this.cols);
    return out;
  }
}
