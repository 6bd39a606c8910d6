/** Row views and joins of [rows, width] activation tensors. */
import { type Tensor, tensor } from '../backend/types.js';

export function widthOf(t: Tensor): number {
  return t.shape[t.shape.length - 1]!;
}

/** Rows [start, end) as a view (no copy). */
export function sliceRows(t: Tensor, start: number, end: number): Tensor {
  const width = widthOf(t);
  return { shape: [end - start, width], data: t.data.subarray(start * width, end * width) };
}

export function concatRows(parts: readonly Tensor[]): Tensor {
  if (parts.length === 1) return parts[0]!;
  const width = widthOf(parts[0]!);
  const rows = parts.reduce((n, p) => n + p.data.length / width, 0);
  const out = tensor([rows, width]);
  let at = 0;
  for (const p of parts) {
    out.data.set(p.data, at);
    at += p.data.length;
  }
  return out;
}
