/**
 * Prefix (KV) cache (issue #15): the keys and values of prompts already run, kept so a later prompt that starts
 * the same way — the same system prompt, image or document, the earlier turns of a chat — prefills only the
 * rest. An entry is a prompt's token ids with the content hashes of its images (an [IMG] token matches only
 * the same picture) and a snapshot of its KV pages, held by reference; a new sequence takes the pages of the
 * longest matching prefix and copies a page only when it writes into it (kv-cache.ts). Entries are scoped to
 * the API key: a prompt is only ever compared with its own key's entries, so one key's cache never serves
 * another's content, nor tells it by timing what another has asked. Bounded by bytes in the budget shared
 * with the image-feature cache (byte-lru.ts); dropping an entry never touches pages a sequence still uses.
 */
import type { KvCache, KvSnapshot } from '../model/kv-cache.js';
import type { ByteLru } from './byte-lru.js';

/** Prefixes shorter than this are not worth a lookup's page copy. */
const MIN_REUSE_TOKENS = 8;

/** What a prompt's positions are: its ids, and for each image (in order) its content key and [IMG] count. */
export interface PromptKey {
  readonly ids: readonly number[];
  readonly imageTokenId: number;
  readonly images: readonly { readonly key: string; readonly tokens: number }[];
}

/** How many leading positions two prompts share: equal ids, and the same picture at every [IMG] run. */
export function commonPrefix(a: PromptKey, b: PromptKey): number {
  const n = Math.min(a.ids.length, b.ids.length);
  let image = -1;
  let left = 0; // [IMG] tokens left in the current image
  for (let i = 0; i < n; i++) {
    const id = a.ids[i]!;
    if (id !== b.ids[i]) return i;
    if (id !== a.imageTokenId) continue;
    if (left === 0) {
      image++;
      const ia = a.images[image];
      const ib = b.images[image];
      if (!ia || !ib || ia.key !== ib.key) return i;
      left = ia.tokens;
    }
    left--;
  }
  return n;
}

export interface PrefixCacheStats {
  readonly prefixCacheHits: number;
  readonly prefixCacheMisses: number;
  /** Prompt tokens served from the cache, summed over every hit. */
  readonly prefixCachedTokens: number;
  /** Bytes of KV pages the entries hold now (pages shared by two entries count twice). */
  readonly prefixCacheBytes: number;
}

export const EMPTY_PREFIX_STATS: PrefixCacheStats = {
  prefixCacheHits: 0,
  prefixCacheMisses: 0,
  prefixCachedTokens: 0,
  prefixCacheBytes: 0,
};

export interface PrefixHit {
  readonly snapshot: KvSnapshot;
  /** Positions to reuse. */
  readonly length: number;
}

interface Entry {
  readonly id: string;
  readonly key: PromptKey;
  readonly snapshot: KvSnapshot;
}

export class PrefixCache {
  private readonly scopes = new Map<string, Map<string, Entry>>();
  private nextId = 0;
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private cachedTokens = 0;

  constructor(private readonly lru: ByteLru) {}

  get stats(): PrefixCacheStats {
    return {
      prefixCacheHits: this.hits,
      prefixCacheMisses: this.misses,
      prefixCachedTokens: this.cachedTokens,
      prefixCacheBytes: this.bytes,
    };
  }

  /** The longest cached prefix of `key` in `scope`, at most `limit` positions (a prompt keeps ≥ 1 to run). */
  lookup(scope: string, key: PromptKey, limit: number): PrefixHit | null {
    let best: Entry | null = null;
    let bestLength = 0;
    for (const entry of this.scopes.get(scope)?.values() ?? []) {
      const length = Math.min(commonPrefix(entry.key, key), entry.snapshot.length, limit);
      if (length > bestLength) [best, bestLength] = [entry, length];
    }
    if (!best || bestLength < MIN_REUSE_TOKENS) {
      this.misses++;
      return null;
    }
    this.lru.get(best.id); // a hit keeps it
    this.hits++;
    this.cachedTokens += bestLength;
    return { snapshot: best.snapshot, length: bestLength };
  }

  /**
   * Keeps the filled positions of `cache` as the prefix `key` (its ids, as far as the cache is filled). An entry
   * this one extends (an earlier turn of the same chat) is dropped; if an entry already covers this one, or it
   * cannot fit, nothing is stored — and the cache's pages are left unshared, so it never copies them for nothing.
   */
  store(scope: string, key: PromptKey, cache: KvCache): void {
    const length = Math.min(cache.length, key.ids.length);
    if (length < MIN_REUSE_TOKENS || cache.bytesOf(length) > this.lru.maxBytes) return;
    const entries = this.scopes.get(scope) ?? new Map<string, Entry>();
    const stored = { ...key, ids: key.ids.slice(0, length) };
    for (const entry of [...entries.values()]) {
      const shared = commonPrefix(entry.key, stored);
      if (shared >= length && entry.snapshot.length >= length) {
        this.lru.get(entry.id);
        return;
      }
      if (shared >= entry.snapshot.length) this.lru.delete(entry.id);
    }
    const snapshot: KvSnapshot = cache.snapshot(length);
    const entry: Entry = { id: `prefix:${this.nextId++}`, key: stored, snapshot };
    const size = snapshot.bytes;
    const kept = this.lru.set(entry.id, entry, size, () => {
      entries.delete(entry.id);
      if (entries.size === 0) this.scopes.delete(scope);
      this.bytes -= size;
    });
    if (!kept) return;
    this.bytes += size;
    entries.set(entry.id, entry);
    this.scopes.set(scope, entries);
  }
}
