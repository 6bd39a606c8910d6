/**
 * Per-sequence key/value cache of the decoder (spec §7.5): for each layer, K and V after RoPE for every position
 * so far, stored as float32, f16 or q8 (int8 with a scale per position and kv head), in fixed-size pages.
 * Capacity is fixed when the sequence starts (prompt + requested tokens, at most the model's context); pages are
 * taken as the sequence grows — never re-allocated, so a long context costs no copy — and `release()` gives them
 * all back. Attention reads the pages in place.
 *
 * Pages can be shared between caches (another choice of the same prompt, a prompt prefix kept for later
 * requests): `fork()` and `snapshot()` hand out the pages by reference and a cache copies a shared page only
 * when it first writes into it (copy-on-write at the point where the sequences diverge). A shared page is never
 * written, so whoever holds it — a running sequence, the prefix cache — always reads what was stored.
 */
import {
  type KvFormat,
  type KvPageData,
  type KvStorage,
  type PagedKv,
  PLAIN_KV_STORAGE,
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
  /** Pages this cache holds by reference: copied before the first write. */
  readonly shared: boolean[];
}

/** The filled positions of a cache, its pages held by reference (never written again): see `KvCache.snapshot`. */
export interface KvSnapshot {
  readonly length: number;
  readonly format: KvFormat;
  readonly kvWidth: number;
  readonly headDim: number;
  readonly pagePositions: number;
  readonly layers: readonly Readonly<Omit<LayerPages, 'shared'>>[];
  /** Bytes of the pages (shared pages count in every snapshot that holds them). */
  readonly bytes: number;
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
    /** The f16 store and page memory (the backend's: native conversion, memory on 2 MB pages). */
    private readonly storage: KvStorage = PLAIN_KV_STORAGE,
  ) {
    this.layerPages = this.emptyPages();
  }

  private emptyPages(): LayerPages[] {
    return Array.from({ length: this.layers }, () => ({
      keys: [],
      values: [],
      keyScales: [],
      valueScales: [],
      shared: [],
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
      // Every layer's keys and values of this page index in one allocation: they are taken, shared (snapshots
      // hold whole page indices) and dropped together, so a snapshot's bytes are exactly what it keeps alive.
      const values = positions * this.kvWidth;
      const stride = Math.ceil(pageBytes(this.format, values) / PAGE_ALIGN) * PAGE_ALIGN;
      const memory = this.storage.pageMemory(stride * 2 * this.layers);
      let at = 0;
      const take = () => pageOf(this.format, values, memory.subarray(at, (at += stride)));
      const scales = this.format === 'q8' ? values / this.headDim : 0;
      for (const layer of this.layerPages) {
        layer.keys.push(take());
        layer.values.push(take());
        layer.keyScales.push(new Float32Array(scales));
        layer.valueScales.push(new Float32Array(scales));
        layer.shared.push(false);
      }
      this.allocated += positions;
    }
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
      if (pages.shared[page]) ownPage(pages, page, this.format, this.storage);
      this.encode(k.data.subarray(from, to), pages.keys[page]!, pages.keyScales[page]!, at);
      this.encode(v.data.subarray(from, to), pages.values[page]!, pages.valueScales[page]!, at);
      row += count;
    }
  }

  private encode(src: Float32Array, dst: KvPageData, scales: Float32Array, at: number): void {
    if (this.format === 'f32') (dst as Float32Array).set(src, at);
    else if (this.format === 'f16') this.storage.halves(src, dst as Uint16Array, at);
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

  /** Forgets positions from `length` on (rejected draft tokens; a shared prompt prefix). */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }

  /**
   * Another cache of the same shape holding the positions filled so far (the prompt shared by `n` choices):
   * both hold the pages by reference and copy a page only when they first write into it.
   */
  fork(): KvCache {
    return KvCache.fromSnapshot(this.snapshot(), this.capacity, this.length, this.storage);
  }

  /** Bytes of the pages that hold positions 0..length−1 (what `snapshot(length)` would hand out). */
  bytesOf(length: number): number {
    const used = Math.ceil(length / this.pagePositions);
    const layer = this.layerPages[0];
    if (!layer) return 0;
    let bytes = 0;
    for (let page = 0; page < used; page++)
      bytes += layer.keys[page]!.byteLength + layer.keyScales[page]!.byteLength;
    return this.layers * 2 * bytes;
  }

  /**
   * The positions 0..length−1 as they are now, for reuse by later sequences (the prefix cache). The pages are
   * handed out by reference; this cache copies any of them before writing into it again.
   */
  snapshot(length = this.length): KvSnapshot {
    if (length > this.length)
      throw new Error(`kv cache: snapshot of ${length} positions, ${this.length} filled`);
    const used = Math.ceil(length / this.pagePositions);
    let bytes = 0;
    const layers = this.layerPages.map((layer) => {
      layer.shared.fill(true, 0, used);
      const pick = <T extends ArrayBufferView>(pages: T[]) => {
        const taken = pages.slice(0, used);
        for (const page of taken) bytes += page.byteLength;
        return taken;
      };
      return {
        keys: pick(layer.keys),
        values: pick(layer.values),
        keyScales: pick(layer.keyScales),
        valueScales: pick(layer.valueScales),
      };
    });
    const { format, kvWidth, headDim, pagePositions } = this;
    return { length, format, kvWidth, headDim, pagePositions, layers, bytes };
  }

  /**
   * A cache of `capacity` positions whose first `length` positions are a snapshot's (at most all of it), held
   * by reference; the sequence continues from `length`.
   */
  static fromSnapshot(
    snapshot: KvSnapshot,
    capacity: number,
    length = snapshot.length,
    storage: KvStorage = PLAIN_KV_STORAGE,
  ): KvCache {
    if (length > snapshot.length || length > capacity)
      throw new Error(`kv cache: cannot take ${length} positions from a snapshot of ${snapshot.length}`);
    const { format, kvWidth, headDim, pagePositions } = snapshot;
    const cache = new KvCache(
      snapshot.layers.length,
      kvWidth,
      capacity,
      format,
      headDim,
      pagePositions,
      storage,
    );
    const used = Math.ceil(length / pagePositions);
    cache.layerPages.forEach((to, layer) => {
      const from = snapshot.layers[layer]!;
      for (let page = 0; page < used; page++) {
        to.keys.push(from.keys[page]!);
        to.values.push(from.values[page]!);
        to.keyScales.push(from.keyScales[page]!);
        to.valueScales.push(from.valueScales[page]!);
        to.shared.push(true);
      }
    });
    cache.allocated = Math.min(used * pagePositions, capacity);
    cache.length = length;
    // The snapshot's last page may be shorter than this cache's page there (its cache had less capacity):
    // give this cache its own full-sized copy, so every page i still starts at position i·pagePositions.
    const last = used - 1;
    const lastPositions = Math.min(pagePositions, capacity - last * pagePositions);
    if (used > 0 && cache.layerPages[0]!.keys[last]!.length < lastPositions * kvWidth)
      cache.layerPages.forEach((pages) => ownPage(pages, last, format, storage, lastPositions * kvWidth));
    return cache;
  }

  release(): void {
    this.layerPages = this.emptyPages();
    this.allocated = 0;
    this.length = 0;
  }
}

/** Pages start on cache lines within their allocation. */
const PAGE_ALIGN = 64;

function pageBytes(format: KvFormat, values: number): number {
  return values * (format === 'f32' ? 4 : format === 'f16' ? 2 : 1);
}

/** A page of `values` values of the format over `memory` (zeroed, at least the page's bytes, 4-byte aligned). */
function pageOf(format: KvFormat, values: number, memory: Uint8Array): KvPageData {
  if (memory.byteLength < pageBytes(format, values) || memory.byteOffset % 4 !== 0)
    throw new Error(`kv cache: page memory of ${memory.byteLength} bytes at offset ${memory.byteOffset}`);
  const { buffer, byteOffset } = memory;
  if (format === 'f32') return new Float32Array(buffer, byteOffset, values);
  if (format === 'f16') return new Uint16Array(buffer, byteOffset, values);
  return new Int8Array(buffer, byteOffset, values);
}

/** Gives a cache its own copy of a shared page (all four arrays), at least `size` values long. */
function ownPage(pages: LayerPages, page: number, format: KvFormat, storage: KvStorage, size = 0): void {
  const copy = <T extends KvPageData>(data: T): T => {
    const values = Math.max(data.length, size);
    const out = pageOf(format, values, storage.pageMemory(pageBytes(format, values))) as T;
    out.set(data as never);
    return out;
  };
  const scales = (data: Float32Array, length: number) => {
    const out = new Float32Array(Math.max(data.length, length));
    out.set(data);
    return out;
  };
  const scaleSize = (size * pages.keyScales[page]!.length) / Math.max(1, pages.keys[page]!.length);
  pages.keys[page] = copy(pages.keys[page]!);
  pages.values[page] = copy(pages.values[page]!);
  pages.keyScales[page] = scales(pages.keyScales[page]!, scaleSize);
  pages.valueScales[page] = scales(pages.valueScales[page]!, scaleSize);
  pages.shared[page] = false;
}
