/**
 * Image-feature cache (issue #15): the adapter output of an image, kept so the same picture asked about again —
 * another request, the next turn, another of `n` choices — skips the vision encoder. An entry is keyed by the
 * scope (the API key), the patch grid the image was sized to and a SHA-256 of its preprocessed pixels, so one
 * key's cache never serves another's content and no key can time another's entries. Bounded by bytes, in the
 * budget it shares with the prefix cache (byte-lru.ts). It lives with the scheduler, the one thread that runs the model, so
 * concurrent requests see it in a fixed order; entries are never written after they are stored.
 */
import { createHash } from 'node:crypto';
import type { Tensor } from '../backend/types.js';
import type { ImageInput } from '../model/vision-encoder.js';
import { concatRows, sliceRows } from '../model/rows.js';
import type { ByteLru } from './byte-lru.js';

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
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(private readonly lru: ByteLru) {}

  get stats(): ImageCacheStats {
    return { imageCacheHits: this.hits, imageCacheMisses: this.misses, imageCacheBytes: this.bytes };
  }

  /**
   * One image's adapter rows (`key` from {@link imageKey}): from the cache, or `encode`d alone (so a cached image
   * gives exactly the rows an uncached run computes) and stored when it fits.
   */
  features(image: ImageInput, key: string, encode: (image: ImageInput) => Tensor): Tensor {
    const cached = this.lru.get<Tensor>(`image:${key}`);
    if (cached) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const rows = encode(image);
    const size = rows.data.byteLength;
    if (this.lru.set(`image:${key}`, rows, size, () => (this.bytes -= size))) this.bytes += size;
    return rows;
  }

  /**
   * The adapter rows of `images` (in prompt order, `keys` from {@link imageKey}) from row `skip` on — the rows a
   * prompt still feeds after a cached prefix that held `skip` [IMG] tokens; images wholly before it are neither
   * looked up nor encoded. Undefined when no row is left.
   */
  rowsFrom(
    skip: number,
    images: readonly ImageInput[],
    keys: readonly string[],
    encode: (image: ImageInput) => Tensor,
  ): Tensor | undefined {
    const parts: Tensor[] = [];
    images.forEach((image, i) => {
      const tokens = image.rows * image.cols;
      if (skip >= tokens) {
        skip -= tokens;
        return;
      }
      const rows = this.features(image, keys[i]!, encode);
      parts.push(skip > 0 ? sliceRows(rows, skip, tokens) : rows);
      skip = 0;
    });
    return parts.length > 0 ? concatRows(parts) : undefined;
  }
}
