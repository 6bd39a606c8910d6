/**
 * Per-sequence key/value cache of the decoder (spec §7.5): for each layer, K and V after RoPE for every position
 * so far, stored as float32, f16 or q8 (int8 with a scale per position and kv head). Capacity is fixed when the
 * sequence starts (prompt + requested tokens, at most the model's context); memory is taken as the sequence
 * grows — geometrically, so a long context is copied only a few times — and `release()` gives it all back.
 */
import { floatToHalf, type KvFormat, type KvTensor, quantizeHead } from '../backend/kv-format.js';
import type { Tensor } from '../backend/types.js';

const FIRST_BLOCK = 256;
const GROWTH = 1.5;

export class KvCacheFullError extends Error {
  constructor(capacity: number) {
    super(`the sequence reached its context capacity of ${capacity} tokens`);
    this.name = 'KvCacheFullError';
  }
}

type Store = Float32Array | Uint16Array | Int8Array;

interface LayerStore {
  keys: Store;
  values: Store;
  keyScales: Float32Array;
  valueScales: Float32Array;
}

export class KvCache {
  /** Positions filled so far (the next token's absolute position). */
  length = 0;
  private stores: LayerStore[];
  private allocated = 0;

  constructor(
    readonly layers: number,
    readonly kvWidth: number,
    readonly capacity: number,
    readonly format: KvFormat = 'f32',
    /** Values per scale in q8 (the head dimension). */
    readonly headDim = kvWidth,
  ) {
    this.stores = Array.from({ length: layers }, () => this.emptyStore(0));
  }

  private emptyStore(positions: number): LayerStore {
    const n = positions * this.kvWidth;
    const make = (): Store =>
      this.format === 'f32'
        ? new Float32Array(n)
        : this.format === 'f16'
          ? new Uint16Array(n)
          : new Int8Array(n);
    const scales = this.format === 'q8' ? (positions * this.kvWidth) / this.headDim : 0;
    return {
      keys: make(),
      values: make(),
      keyScales: new Float32Array(scales),
      valueScales: new Float32Array(scales),
    };
  }

  /** Bytes currently held. */
  get bytes(): number {
    const s = this.stores[0];
    if (!s) return 0;
    return this.layers * 2 * (s.keys.byteLength + s.keyScales.byteLength);
  }

  /** Makes room for `count` more positions; throws when the capacity would be exceeded. */
  reserve(count: number): void {
    const needed = this.length + count;
    if (needed > this.capacity) throw new KvCacheFullError(this.capacity);
    if (needed <= this.allocated) return;
    const size = Math.min(this.capacity, Math.max(needed, FIRST_BLOCK, Math.ceil(this.allocated * GROWTH)));
    this.stores = this.stores.map((old) => {
      const next = this.emptyStore(size);
      next.keys.set(old.keys as never);
      next.values.set(old.values as never);
      next.keyScales.set(old.keyScales);
      next.valueScales.set(old.valueScales);
      return next;
    });
    this.allocated = size;
  }

  /** Stores k, v [T, kvWidth] of one layer at positions length..length+T−1 (call `advance` after all layers). */
  write(layer: number, k: Tensor, v: Tensor): void {
    const at = this.length * this.kvWidth;
    if (at + k.data.length > this.allocated * this.kvWidth)
      throw new Error('kv cache: write past reserved space');
    const store = this.stores[layer]!;
    this.encode(k.data, store.keys, store.keyScales, at);
    this.encode(v.data, store.values, store.valueScales, at);
  }

  private encode(src: Float32Array, dst: Store, scales: Float32Array, at: number): void {
    if (this.format === 'f32') (dst as Float32Array).set(src, at);
    else if (this.format === 'f16') for (let i = 0; i < src.length; i++) dst[at + i] = floatToHalf(src[i]!);
    else
      for (let h = 0; h < src.length; h += this.headDim)
        scales[(at + h) / this.headDim] = quantizeHead(src, h, this.headDim, dst as Int8Array, at + h);
  }

  /** K and V of one layer for positions 0..end−1, in the stored format. */
  view(layer: number, end: number): { k: KvTensor; v: KvTensor } {
    const n = end * this.kvWidth;
    const shape = [end, this.kvWidth];
    const s = this.stores[layer]!;
    if (this.format === 'f32')
      return {
        k: { shape, data: (s.keys as Float32Array).subarray(0, n) },
        v: { shape, data: (s.values as Float32Array).subarray(0, n) },
      };
    if (this.format === 'f16')
      return {
        k: { shape, format: 'f16', data: (s.keys as Uint16Array).subarray(0, n) },
        v: { shape, format: 'f16', data: (s.values as Uint16Array).subarray(0, n) },
      };
    const scales = n / this.headDim;
    const q8 = (data: Store, sc: Float32Array): KvTensor => ({
      shape,
      format: 'q8',
      data: (data as Int8Array).subarray(0, n),
      scales: sc.subarray(0, scales),
      headDim: this.headDim,
    });
    return { k: q8(s.keys, s.keyScales), v: q8(s.values, s.valueScales) };
  }

  advance(count: number): void {
    this.length += count;
  }

  /** Forgets positions from `length` on (e.g. to reuse a shared prompt prefix). */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }

  release(): void {
    this.stores = this.stores.map(() => this.emptyStore(0));
    this.allocated = 0;
    this.length = 0;
  }
}
