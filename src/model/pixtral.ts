/**
 * Pixtral = vision encoder → adapter → decoder, glued the way the spec's §4 describes: every image of a request
 * is encoded in prompt order, and its adapter outputs fill the [IMG] positions of the prompt left to right.
 */
import type { KvFormat, KvStorage } from '../backend/kv-format.js';
import type { Backend, Tensor } from '../backend/types.js';
import type { PixtralConfig } from '../checkpoint/index.js';
import type { WeightSource } from '../checkpoint/weight-source.js';
import { adapt, type AdapterWeights, loadAdapterWeights } from './adapter.js';
import { Decoder, loadDecoderWeights } from './decoder.js';
import { KV_PAGE_POSITIONS, KvCache, type KvSnapshot } from './kv-cache.js';
import { sliceRows } from './rows.js';
import { type ImageInput, loadVisionWeights, VisionEncoder } from './vision-encoder.js';

/** Prompt positions processed per forward pass: bounds the attention scratch of long (image) prompts. */
export const DEFAULT_PREFILL_CHUNK = 512;

export interface ModelOptions {
  /** Longest sequence to allow, at most the checkpoint's own context. */
  readonly maxContext?: number;
  readonly kvFormat?: KvFormat;
  /** Called as tensors load: (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

export class PixtralModel {
  readonly decoder: Decoder;
  readonly vision: VisionEncoder | null;
  private readonly adapter: AdapterWeights | null;

  constructor(
    readonly backend: Backend,
    readonly config: PixtralConfig,
    load: (name: string) => ReturnType<Backend['weight']>,
    /** How KV caches store keys and values (f16/q8 trade a little precision for memory); fixed for the model. */
    readonly kvFormat: KvFormat = 'f32',
  ) {
    this.decoder = new Decoder(
      backend,
      config.text,
      loadDecoderWeights(load, config.text),
      config.maxContext,
    );
    const vision = config.vision;
    this.vision = vision ? new VisionEncoder(backend, vision, loadVisionWeights(load, vision)) : null;
    this.adapter = vision ? loadAdapterWeights(load, vision.adapterBias) : null;
  }

  /** The backend's f16 store and page memory, for the caches this model hands out. */
  private readonly kvStorage: KvStorage = {
    halves: (src, dst, at) => this.backend.toHalf(src, dst, at),
    pageMemory: (bytes) => this.backend.kvPageMemory(bytes),
  };

  /** Loads every tensor of a checkpoint into the backend; `onProgress(done, total)` per tensor. */
  static fromCheckpoint(
    checkpoint: WeightSource,
    backend: Backend,
    options: ModelOptions = {},
  ): PixtralModel {
    const total = checkpoint.names().length;
    let done = 0;
    const maxContext = Math.min(options.maxContext ?? Infinity, checkpoint.config.maxContext);
    const config = { ...checkpoint.config, maxContext };
    const load = (name: string) => {
      const weight = backend.weight(checkpoint.readRaw(name));
      options.onProgress?.(++done, total);
      return weight;
    };
    return new PixtralModel(backend, config, load, options.kvFormat);
  }

  get imageTokenId(): number {
    return this.config.vision?.imageTokenId ?? -1;
  }

  /** Vision features [Σ patches, hidden] of the images (before the adapter). */
  encodeImages(images: readonly ImageInput[]): Tensor {
    if (!this.vision) throw new Error('this model has no vision encoder');
    return this.vision.encode(images);
  }

  /** Decoder-space embeddings [Σ patches, dim] for the [IMG] positions. */
  imageEmbeddings(images: readonly ImageInput[]): Tensor {
    return adapt(this.backend, this.encodeImages(images), this.adapter!);
  }

  newCache(capacity: number): KvCache {
    const t = this.config.text;
    const positions = Math.min(capacity, this.config.maxContext);
    return new KvCache(
      t.nLayers,
      t.nKvHeads * t.headDim,
      positions,
      this.kvFormat,
      t.headDim,
      KV_PAGE_POSITIONS,
      this.kvStorage,
    );
  }

  /** A cache that continues from the first `length` positions of a snapshot (a cached prompt prefix). */
  cacheFrom(snapshot: KvSnapshot, length: number, capacity: number): KvCache {
    return KvCache.fromSnapshot(snapshot, Math.min(capacity, this.config.maxContext), length, this.kvStorage);
  }

  /**
   * Feeds prompt tokens (appending to the cache) in chunks and returns the logits after the last one.
   * `imageRows` holds one row per [IMG] token among `ids`, in order.
   */
  prefill(
    ids: readonly number[],
    cache: KvCache,
    imageRows?: Tensor,
    chunk = DEFAULT_PREFILL_CHUNK,
  ): Float32Array {
    const steps = this.prefillSteps(ids, cache, imageRows, chunk);
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
    }
  }

  /** The same, one chunk per iteration, so a caller can yield or cancel between chunks. */
  *prefillSteps(
    ids: readonly number[],
    cache: KvCache,
    imageRows?: Tensor,
    chunk = DEFAULT_PREFILL_CHUNK,
  ): Generator<number, Float32Array> {
    if (ids.length === 0) throw new Error('prefill needs at least one token');
    let imageRow = 0;
    let hidden: Tensor | undefined;
    for (let start = 0; start < ids.length; start += chunk) {
      const part = ids.slice(start, start + chunk);
      const images = part.filter((id) => id === this.imageTokenId).length;
      const rows = images && imageRows ? sliceRows(imageRows, imageRow, imageRow + images) : undefined;
      imageRow += images;
      hidden = this.decoder.forward(this.decoder.embed(part, this.imageTokenId, rows), cache);
      if (start + chunk < ids.length) yield start + chunk;
    }
    return this.decoder.logits(hidden!);
  }

  /**
   * Feeds `ids` after the cache's positions in one forward pass and returns the logits after each of them
   * (verifying drafted tokens: row i predicts what follows ids[i]).
   */
  forwardAll(ids: readonly number[], cache: KvCache): Float32Array[] {
    const logits = this.decoder.logitsAll(
      this.decoder.forward(this.decoder.embed(ids, this.imageTokenId), cache),
    );
    return ids.map((_, i) => sliceRows(logits, i, i + 1).data);
  }

  /** One decoding step for several sequences: row i of the result is the logits after appending ids[i] to caches[i]. */
  stepBatch(ids: readonly number[], caches: readonly KvCache[]): Float32Array[] {
    const x = this.decoder.embed(ids, this.imageTokenId);
    const logits = this.decoder.logitsAll(this.decoder.forwardBatch(x, caches));
    return ids.map((_, i) => sliceRows(logits, i, i + 1).data);
  }

  /** One decoding step: the logits after appending `id`. */
  step(id: number, cache: KvCache): Float32Array {
    return this.decoder.logits(this.decoder.forward(this.decoder.embed([id], this.imageTokenId), cache));
  }
}
