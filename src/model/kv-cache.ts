/**
 * Per-sequence key/value cache of the decoder (spec §7.5): for each layer, K and V after RoPE for every position
 * so far, stored as float32, f16 or q8 (int8 with a scale per position and kv head), in fixed-size pages.
 * Capacity is fixed when the sequence starts (prompt + requested tokens, at most the model's context); pages are
 * taken as the sequence grows — never re-allocated, so a long context costs no copy — and `release()` gives them
 * all back. `fork()` copies the filled pages for another choice of the same prompt. Attention reads the pages
 * in place.
 */
import {
  floatToHalf,
  type KvFormat,
  type KvPageData,
  type PagedKv,
  quantizeHead,
} from '../backend/kv-format.js';
import type { Tensor } from '../backend/types.js';

/** Positions per page: a multiple of the attention kernels' 64-key tiles, small enough to waste little. */
export const KV_PAGE_POSITIONS = 256;

export class KvCacheFullError extends Error {
  constructor(capacity: number) {
    super(`the sequence reached its context capacity of ${capacity} tokens`);
    this.name = 'KvCacheFullError';
  }
}

interface LayerPages {
  readonly keys: KvPageData[];
  readonly values: KvPageData[];
  readonly keyScales: Float32Array[];
  readonly valueScales: Float32Array[];
}

export class KvCache {
  /** Positions filled so far (the next token's absolute position). */
  length = 0;
  private layerPages: LayerPages[];
  /** Positions the pages taken so far can hold. */
  private allocated = 0;

  constructor(
    readonly layers: number,
    readonly kvWidth: number,
    readonly capacity: number,
    readonly format: KvFormat = 'f32',
    /** Values per scale in q8 (the head dimension). */
    readonly headDim = kvWidth,
    readonly pagePositions = KV_PAGE_POSITIONS,
  ) {
    this.layerPages = this.emptyPages();
  }

  private emptyPages(): LayerPages[] {
    return Array.from({ length: this.layers }, () => ({
      keys: [],
      values: [],
      keyScales: [],
      valueScales: [],
    }));
  }

  /** Bytes currently held. */
  get bytes(): number {
    const layer = this.layerPages[0];
    if (!layer) return 0;
    const bytes = (pages: readonly ArrayBufferView[]) => pages.reduce((n, page) => n + page.byteLength, 0);
    return this.layers * 2 * (bytes(layer.keys) + bytes(layer.keyScales));
  }

  /** Makes room for `count` more positions; throws when the capacity would be exceeded. */
  reserve(count: number): void {
    const needed = this.length + count;
    if (needed > this.capacity) throw new KvCacheFullError(this.capacity);
    while (this.allocated < needed) {
      // The last page holds only what the capacity allows, so a sequence never takes more than its capacity.
      const positions = Math.min(this.pagePositions, this.capacity - this.allocated);
      for (const layer of this.layerPages) {
        layer.keys.push(this.newPage(positions));
        layer.values.push(this.newPage(positions));
        const scales = this.format === 'q8' ? (positions * this.kvWidth) / this.headDim : 0;
        layer.keyScales.push(new Float32Array(scales));
        layer.valueScales.push(new Float32Array(scales));
      }
      this.allocated += positions;
    }
  }

  private newPage(positions: number): KvPageData {
    const n = positions * this.kvWidth;
    return this.format === 'f32'
      ? new Float32Array(n)
      : this.format === 'f16'
        ? new Uint16Array(n)
        : new Int8Array(n);
  }

  /** Stores k, v [T, kvWidth] of one layer at positions length..length+T−1 (call `advance` after all layers). */
  write(layer: number, k: Tensor, v: Tensor): void {
    const rows = k.data.length / this.kvWidth;
    if (this.length + rows > this.allocated) throw new Error('kv cache: write past reserved space');
    const pages = this.layerPages[layer]!;
    // A chunk may straddle pages: store it page by page.
    for (let row = 0; row < rows;) {
      const position = this.length + row;
      const page = Math.floor(position / this.pagePositions);
      const at = (position % this.pagePositions) * this.kvWidth;
      const count = Math.min(rows - row, this.pagePositions - (position % this.pagePositions));
      const from = row * this.kvWidth;
      const to = from + count * this.kvWidth;
      this.encode(k.data.subarray(from, to), pages.keys[page]!, pages.keyScales[page]!, at);
      this.encode(v.data.subarray(from, to), pages.values[page]!, pages.valueScales[page]!, at);
      row += count;
    }
  }

  private encode(src: Float32Array, dst: KvPageData, scales: Float32Array, at: number): void {
    if (this.format === 'f32') (dst as Float32Array).set(src, at);
    else if (this.format === 'f16') for (let i = 0; i < src.length; i++) dst[at + i] = floatToHalf(src[i]!);
    else
      for (let h = 0; h < src.length; h += this.headDim)
        scales[(at + h) / this.headDim] = quantizeHead(src, h, this.headDim, dst as Int8Array, at + h);
  }

  /** K and V of one layer for positions 0..end−1, as the pages hold them (no copy). */
  view(layer: number, end: number): { k: PagedKv; v: PagedKv } {
    const pages = this.layerPages[layer]!;
    const used = Math.ceil(end / this.pagePositions);
    const paged = (data: KvPageData[], scales: Float32Array[]): PagedKv => ({
      shape: [end, this.kvWidth],
      format: this.format,
      pages: data.slice(0, used),
      pageScales: this.format === 'q8' ? scales.slice(0, used) : [],
      pagePositions: this.pagePositions,
      headDim: this.headDim,
    });
    return { k: paged(pages.keys, pages.keyScales), v: paged(pages.values, pages.valueScales) };
  }

  advance(count: number): void {
    this.length += count;
  }

  /** Forgets positions from `length` on (e.g. to reuse a shared prompt prefix). */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }

  /**
   * A new cache of the same shape holding a copy of the positions filled so far (the prompt shared by `n`
   * choices), page by page; each copy then grows on its own.
   */
  fork(): KvCache {
    const copy = new KvCache(
      this.layers,
      this.kvWidth,
      this.capacity,
      this.format,
      this.headDim,
      this.pagePositions,
    );
    copy.reserve(this.length);
    const used = copy.layerPages[0]?.keys.length ?? 0;
    copy.layerPages.forEach((to, layer) => {
      const from = this.layerPages[layer]!;
      for (let page = 0; page < used; page++) {
        to.keys[page]!.set(from.keys[page]!);
        to.values[page]!.set(from.values[page]!);
        to.keyScales[page]!.set(from.keyScales[page]!);
        to.valueScales[page]!.set(from.valueScales[page]!);
      }
    });
    copy.length = this.length;
    return copy;
  }

  release(): void {
    this.layerPages = this.emptyPages();
    this.allocated = 0;
    this.length = 0;
  }
}
