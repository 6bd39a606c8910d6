/**
 * The buffers of a forward pass, planned once and reused by every step (llama2.c's RunState): each named
 * buffer grows to the largest row count seen (a decode batch, a prefill chunk) and is handed out as a view, so
 * the steady-state decode loop allocates no activations. A view is valid until the next forward pass.
 */
import type { Tensor } from '../backend/types.js';

export class Scratch {
  private readonly buffers = new Map<string, Float32Array>();
  private readonly views = new Map<string, Tensor>();

  /** The `name` buffer as a [rows, width] tensor. */
  take(name: string, rows: number, width: number): Tensor {
    const size = rows * width;
    const cached = this.views.get(name);
    if (cached && cached.data.length === size && cached.shape[1] === width) return cached;
    let buffer = this.buffers.get(name);
    if (!buffer || buffer.length < size) {
      buffer = new Float32Array(Math.max(size, (buffer?.length ?? 0) * 2));
      this.buffers.set(name, buffer);
    }
    const view = { shape: [rows, width], data: buffer.subarray(0, size) };
    this.views.set(name, view);
    return view;
  }

  /** Bytes held (for tests and accounting). */
  get bytes(): number {
    let total = 0;
    for (const buffer of this.buffers.values()) total += buffer.byteLength;
    return total;
  }
}
