/**
 * One memory budget for the engine's caches (image features, prompt prefixes): entries of any kind, each with
 * its size in bytes, evicted least recently used first when a new one would not fit (`--cache-size`). Dropping
 * an entry only drops the cache's reference: a running sequence that holds the same pages keeps them, so
 * eviction never touches what is in use.
 */
interface LruEntry {
  readonly value: unknown;
  readonly bytes: number;
  /** Told when the entry leaves (evicted, replaced or deleted), so an index over the entries stays right. */
  readonly onRemove?: () => void;
}

export class ByteLru {
  /** Map order is recency: a touch moves the entry to the end, eviction takes from the front. */
  private readonly entries = new Map<string, LruEntry>();
  private held = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes the entries hold now. */
  get bytes(): number {
    return this.held;
  }

  get<T>(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value as T;
  }

  /** Stores an entry, evicting the least recently used ones to make room; false (nothing stored) if it cannot fit. */
  set(key: string, value: unknown, bytes: number, onRemove?: () => void): boolean {
    this.delete(key);
    if (bytes > this.maxBytes) return false;
    for (const [oldest] of this.entries) {
      if (this.held + bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
    this.entries.set(key, { value, bytes, ...(onRemove && { onRemove }) });
    this.held += bytes;
    return true;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.held -= entry.bytes;
    entry.onRemove?.();
  }
}
