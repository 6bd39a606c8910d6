/**
 * Image-feature cache (issue #15): the adapter output of an image, kept so the same picture asked about again —
 * another request, the next turn, another of `n` choices — skips the vision encoder. An entry is keyed by the
 * scope (the API key), the patch grid the image was sized to and a SHA-256 of its preprocessed pixels, so one
 * key's cache never serves another's content and no key can time another's entries. Bounded by bytes: the
 * least recently used entries go first. It lives with the scheduler, the one thread that runs the model, so
 * concurrent requests see it in a fixed order; entries are never written after they are stored.
 */
import { createHash } from 'node:crypto';
import type { Tensor } from '../backend/types.js';
import type { ImageInput } from '../model/vision-encoder.js';
import { concatRows } from '../model/rows.js';

/** The scope of a prompt that names none (the CLI, the library, a server without keys). */
export const LOCAL_SCOPE = 'local';

export interface ImageCacheStats {
  readonly imageCacheHits: number;
  readonly imageCacheMisses: number;
  /** Bytes the entries hold now. */
  readonly imageCacheBytes: number;
}

export function imageKey(scope: string, image: ImageInput): string {
  const { pixels } = image;
  return createHash('sha256')
    .update(`${scope.length}:${scope}\0${image.rows}x${image.cols}\0`)
    .update(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength))
    .digest('hex');
}

export class ImageFeatureCache {
  /** Map order is recency: a hit moves its entry to the end, eviction takes from the front. */
  private readonly entries = new Map<string, Tensor>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(readonly maxBytes: number) {}

  get stats(): ImageCacheStats {
    return { imageCacheHits: this.hits, imageCacheMisses: this.misses, imageCacheBytes: this.bytes };
  }

  /**
   * The adapter rows of `images` in prompt order: each image from the cache, or `encode`d alone (so a cached
   * image gives exactly the rows an uncached run computes) and stored when it fits.
   */
  rows(images: readonly ImageInput[], scope: string, encode: (image: ImageInput) => Tensor): Tensor {
    return concatRows(images.map((image) => this.row(image, scope, encode)));
  }

  private row(image: ImageInput, scope: string, encode: (image: ImageInput) => Tensor): Tensor {
    const key = imageKey(scope, image);
    const cached = this.entries.get(key);
    if (cached) {
      this.hits++;
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    this.misses++;
    const rows = encode(image);
    this.store(key, rows);
    return rows;
  }

  private store(key: string, rows: Tensor): void {
    const size = rows.data.byteLength;
    if (size > this.maxBytes) return;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes + size <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.data.byteLength;
    }
    this.entries.set(key, rows);
    this.bytes += size;
  }
}
