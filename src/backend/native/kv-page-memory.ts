/**
 * Memory for the KV cache's pages on 2 MB pages. Decode attention streams every page of every layer each token;
 * in ordinary memory (4 KB pages) that costs a TLB miss every 4 KB and the hardware prefetchers stop at each
 * page's end (in-model at depth 4096 on a 2-core Zen 5: 0.70–0.72 ms a layer instead of 0.74–0.77). A cache page
 * (512 KB for Pixtral-12B in f16) is smaller than a huge page, so pages are carved from 8 MB slabs; a slab is
 * freed when the last page carved from it is collected. Pages a cache takes together (every layer's, at once)
 * sit in the same slabs, so one long-lived page pins little besides its own sequence's.
 */
const SLAB_BYTES = 8 << 20;
/** Smaller pages (tiny models) gain nothing from huge pages: ordinary memory. */
const MIN_PAGE_BYTES = 64 << 10;
/** Pages start on cache lines. */
const ALIGN = 64;

export class KvPageMemory {
  private slab: Uint8Array | null = null;
  private used = 0;

  /** `allocate(bytes)`: zeroed memory on 2 MB pages (the addon's `allocateWeights`). */
  constructor(private readonly allocate: (bytes: number) => Uint8Array) {}

  take(bytes: number): Uint8Array {
    if (bytes < MIN_PAGE_BYTES) return new Uint8Array(bytes);
    if (bytes > SLAB_BYTES / 2) return this.allocate(bytes);
    if (!this.slab || this.used + bytes > this.slab.length) {
      this.slab = this.allocate(SLAB_BYTES);
      this.used = 0;
    }
    const page = this.slab.subarray(this.used, this.used + bytes);
    this.used += Math.ceil(bytes / ALIGN) * ALIGN;
    return page;
  }
}
