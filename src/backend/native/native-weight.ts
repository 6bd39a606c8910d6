/**
 * A matmul weight held for the native kernels: bf16 rows viewed in place (no copy) or q8/q4 blocks made once
 * at load, a few hundred rows at a time so even the 131072-row lm head never exists in float32 at once.
 */
import { toFloat32 } from '../../checkpoint/index.js';
import type { RawWeight, Weight } from '../types.js';
import { type NativeAddon, NativeFormat } from './addon.js';

export type Quantization = 'none' | 'q8' | 'q4';

const BLOCK = 32;
const ROWS_PER_CHUNK = 256;
const BYTES_PER_BLOCK = { [NativeFormat.Q8]: 34, [NativeFormat.Q4]: 18 } as const;
const K_QUANT_FORMATS = { Q4_K: NativeFormat.Q4K, Q5_K: NativeFormat.Q5K, Q6_K: NativeFormat.Q6K } as const;

export class NativeWeight implements Weight {
  readonly rows: number;
  readonly cols: number;

  private constructor(
    readonly shape: readonly number[],
    readonly dtype: string,
    readonly format: NativeFormat,
    readonly data: Uint8Array | Uint16Array,
  ) {
    this.rows = shape[0]!;
    this.cols = shape.slice(1).reduce((a, b) => a * b, 1);
  }

  /**
   * Blocks made by `pixtral quantize`, used where they lie (a view of the mapped file, or the copy read into
   * memory of the process's own — where q4 rows become panels in place).
   */
  static prequantized(raw: RawWeight, addon: NativeAddon): NativeWeight {
    const format = raw.quant === 'q8' ? NativeFormat.Q8 : NativeFormat.Q4;
    return NativeWeight.blocks(raw.shape, raw.quant!.toUpperCase(), format, raw.data, addon);
  }

  /** q8/q4 rows, rewritten as 16-row panels where the kernel level prefers them (the same bytes, in place). */
  private static blocks(
    shape: readonly number[],
    dtype: string,
    format: NativeFormat.Q8 | NativeFormat.Q4,
    data: Uint8Array,
    addon: NativeAddon,
  ): NativeWeight {
    const rows = shape[0]!;
    const cols = shape.slice(1).reduce((a, b) => a * b, 1);
    const panels = addon.packPanels(format, data, rows, cols);
    const panelFormat = format === NativeFormat.Q4 ? NativeFormat.Q4P : NativeFormat.Q8P;
    return new NativeWeight(shape, dtype, panels ? panelFormat : format, data);
  }

  /**
   * GGUF blocks for the kernels: K-quants as read (rows of super-blocks are already what the kernels take),
   * Q8_0 / Q4_0 rearranged into the kernels' rows (the same numbers) in memory of their own.
   */
  static fromGgml(raw: RawWeight, addon: NativeAddon): NativeWeight {
    const inPlace = K_QUANT_FORMATS[raw.ggml as keyof typeof K_QUANT_FORMATS];
    if (inPlace !== undefined) return new NativeWeight(raw.shape, raw.ggml!, inPlace, raw.data);
    const format = raw.ggml === 'Q8_0' ? NativeFormat.Q8 : NativeFormat.Q4;
    const rows = raw.shape[0]!;
    const cols = raw.shape.slice(1).reduce((a, b) => a * b, 1);
    const out = addon.allocateWeights(rows * (cols / BLOCK) * BYTES_PER_BLOCK[format]);
    addon.repackGgml(format, raw.data, rows, cols, out);
    return NativeWeight.blocks(raw.shape, raw.ggml!, format, out, addon);
  }

  /** bf16 or IEEE half rows, viewed in place. */
  static halves(raw: RawWeight): NativeWeight {
    const aligned = raw.data.byteOffset % 2 === 0 ? raw.data : raw.data.slice();
    const halves = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
    const format = raw.dtype === 'F16' ? NativeFormat.F16 : NativeFormat.Bf16;
    return new NativeWeight(raw.shape, raw.dtype, format, halves);
  }

  static quantized(raw: RawWeight, quant: 'q8' | 'q4', addon: NativeAddon): NativeWeight {
    const format = quant === 'q8' ? NativeFormat.Q8 : NativeFormat.Q4;
    return NativeWeight.blocks(
      raw.shape,
      quant.toUpperCase(),
      format,
      quantizeRows(raw, quant, addon),
      addon,
    );
  }
}

/**
 * A float tensor as q8/q4 rows — the layout `pixtral quantize` files hold on every machine (panels are made from
 * them at load, never written).
 */
export function quantizeRows(raw: RawWeight, quant: 'q8' | 'q4', addon: NativeAddon): Uint8Array {
  const format = quant === 'q8' ? NativeFormat.Q8 : NativeFormat.Q4;
  const rows = raw.shape[0]!;
  const cols = raw.shape.slice(1).reduce((a, b) => a * b, 1);
  const rowBytes = (cols / BLOCK) * BYTES_PER_BLOCK[format];
  const out = new Uint8Array(rows * rowBytes);
  const elementBytes = raw.data.byteLength / (rows * cols);
  for (let r = 0; r < rows; r += ROWS_PER_CHUNK) {
    const count = Math.min(ROWS_PER_CHUNK, rows - r);
    const bytes = raw.data.subarray(r * cols * elementBytes, (r + count) * cols * elementBytes);
    addon.quantize(format, toFloat32(bytes, raw.dtype), count, cols, out.subarray(r * rowBytes));
  }
  return out;
}
