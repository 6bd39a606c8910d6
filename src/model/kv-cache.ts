/**
 * Per-sequence key/value cache of the decoder (spec §7.5): for each layer, K and V after RoPE for every position
 * so far. Capacity is fixed when the sequence starts (prompt + requested tokens, at most the model's context),
 * memory is taken as the sequence grows in blocks, and `release()` gives it all back.
 */
import type { Tensor } from '../backend/types.js';

const BLOCK_TOKENS = 256;

export class KvCacheFullError extends Error {
  constructor(capacity: number) {
    super(`the sequence reached its context capacity of ${capacity} tokens`);
    this.name = 'KvCacheFullError';
  }
}

export class KvCache {
  /** Positions filled so far (the next token's absolute position). */
  length = 0;
  private keys: Float32Array[];
  private values: Float32Array[];
  private allocated = 0;

  constructor(
    readonly layers: number,
    readonly kvWidth: number,
    readonly capacity: number,
  ) {
    this.keys = Array.from({ length: layers }, () => new Float32Array(0));
    this.values = Array.from({ length: layers }, () => new Float32Array(0));
  }

  /** Bytes currently held. */
  get bytes(): number {
    return this.layers * 2 * this.allocated * this.kvWidth * 4;
  }

  /** Makes room for `count` more positions; throws when the capacity would be exceeded. */
  reserve(count: number): void {
    const needed = this.length + count;
    if (needed > this.capacity) throw new KvCacheFullError(this.capacity);
    if (needed <= this.allocated) return;
    const size = Math.min(this.capacity, Math.ceil(needed / BLOCK_TOKENS) * BLOCK_TOKENS);
    for (let l = 0; l < this.layers; l++) {
      this.keys[l] = grow(this.keys[l]!, size * this.kvWidth);
      this.values[l] = grow(this.values[l]!, size * this.kvWidth);
    }
    this.allocated = size;
  }

  /** Stores k, v [T, kvWidth] of one layer at positions length..length+T−1 (call `advance` after all layers). */
  write(layer: number, k: Tensor, v: Tensor): void {
    const at = this.length * this.kvWidth;
    if (at + k.data.length > this.allocated * this.kvWidth)
      throw new Error('kv cache: write past reserved space');
    this.keys[layer]!.set(k.data, at);
    this.values[layer]!.set(v.data, at);
  }

  /** K and V of one layer for positions 0..end−1. */
  view(layer: number, end: number): { k: Tensor; v: Tensor } {
    const n = end * this.kvWidth;
    return {
      k: { shape: [end, this.kvWidth], data: this.keys[layer]!.subarray(0, n) },
      v: { shape: [end, this.kvWidth], data: this.values[layer]!.subarray(0, n) },
    };
  }

  advance(count: number): void {
    this.length += count;
  }

  /** Forgets positions from `length` on (e.g. to reuse a shared prompt prefix). */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }

  release(): void {
    this.keys = this.keys.map(() => new Float32Array(0));
    this.values = this.values.map(() => new Float32Array(0));
    this.allocated = 0;
    this.length = 0;
  }
}

function grow(old: Float32Array, size: number): Float32Array {
  const next = new Float32Array(size);
  next.set(old);
  return next;
}
