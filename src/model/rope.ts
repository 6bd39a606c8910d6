/**
 * Rotary position tables (spec §5.3, §7.3), built the way the reference builds them: frequencies and angles in
 * float32, so long positions carry the same rounding as mistral-inference's tables.
 */
import type { RopeAngles } from '../backend/types.js';

/** f[k] = θ^(−2k/dim), k = 0..dim/2−1, as float32. */
export function ropeFrequencies(dim: number, theta: number): Float32Array {
  const freqs = new Float32Array(dim / 2);
  for (let k = 0; k < dim / 2; k++) freqs[k] = 1 / Math.fround(theta ** Math.fround((2 * k) / dim));
  return freqs;
}

function fromAngles(angles: Float32Array, positions: number, pairs: number): RopeAngles {
  const cos = new Float32Array(angles.length);
  const sin = new Float32Array(angles.length);
  for (let i = 0; i < angles.length; i++) {
    cos[i] = Math.cos(angles[i]!);
    sin[i] = Math.sin(angles[i]!);
  }
  return { cos, sin, positions, pairs };
}

/** 1-D RoPE of the decoder: pair k of the token at absolute position m turns by m·f[k]. */
export function rope1d(freqs: Float32Array, start: number, count: number): RopeAngles {
  const pairs = freqs.length;
  const angles = new Float32Array(count * pairs);
  for (let t = 0; t < count; t++)
    for (let k = 0; k < pairs; k++) angles[t * pairs + k] = Math.fround((start + t) * freqs[k]!);
  return fromAngles(angles, count, pairs);
}

/**
 * The decoder's 1-D rotation table, computed once per position and reused by every step (llama2.c keeps its
 * freq_cis the same way): angles for positions start..start+count−1 are views into it, never recomputed. It
 * grows geometrically up to `maxPositions` as sequences reach further positions, so a short chat never pays for
 * a 131072-position table.
 */
export class RopeTable {
  private cos = new Float32Array(0);
  private sin = new Float32Array(0);
  private positions = 0;

  constructor(
    private readonly freqs: Float32Array,
    private readonly maxPositions: number,
  ) {}

  /** Angles of positions start..start+count−1 (views into the table). */
  angles(start: number, count: number): RopeAngles {
    this.ensure(start + count);
    const pairs = this.freqs.length;
    const range = [start * pairs, (start + count) * pairs] as const;
    return { cos: this.cos.subarray(...range), sin: this.sin.subarray(...range), positions: count, pairs };
  }

  /** Angles of one position per row (a decode step of several sequences). */
  rows(positions: readonly number[]): RopeAngles {
    return concatAngles(positions.map((position) => this.angles(position, 1)));
  }

  private ensure(needed: number): void {
    if (needed <= this.positions) return;
    const size = Math.max(needed, Math.min(this.maxPositions, Math.max(256, this.positions * 2)));
    const more = rope1d(this.freqs, this.positions, size - this.positions);
    const grow = (old: Float32Array, added: Float32Array) => {
      const next = new Float32Array(old.length + added.length);
      next.set(old);
      next.set(added, old.length);
      return next;
    };
    this.cos = grow(this.cos, more.cos);
    this.sin = grow(this.sin, more.sin);
    this.positions = size;
  }
}

/**
 * 2-D RoPE of the vision encoder for one image of rows × cols patches (row-major): the first half of the pairs
 * turn with the patch row using the even-indexed frequencies, the second half with the column using the odd ones.
 */
export function rope2d(freqs: Float32Array, rows: number, cols: number): RopeAngles {
  const pairs = freqs.length;
  const half = pairs / 2;
  const angles = new Float32Array(rows * cols * pairs);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const base = (r * cols + c) * pairs;
      for (let p = 0; p < half; p++) {
        angles[base + p] = Math.fround(r * freqs[2 * p]!);
        angles[base + half + p] = Math.fround(c * freqs[2 * p + 1]!);
      }
    }
  }
  return fromAngles(angles, rows * cols, pairs);
}

/** Angles of several position tables stacked row-wise (images packed into one encoder pass). */
export function concatAngles(parts: readonly RopeAngles[]): RopeAngles {
  const pairs = parts[0]!.pairs;
  const positions = parts.reduce((n, p) => n + p.positions, 0);
  const cos = new Float32Array(positions * pairs);
  const sin = new Float32Array(positions * pairs);
  let at = 0;
  for (const part of parts) {
    cos.set(part.cos, at);
    sin.set(part.sin, at);
    at += part.cos.length;
  }
  return { cos, sin, positions, pairs };
}
