/**
 * tiktoken-style byte-pair encoding over a rank table: a piece that is itself a vocabulary entry is one token;
 * otherwise start from single bytes and keep merging the adjacent pair whose concatenation has the lowest rank.
 *
 * Byte strings are keyed as "binary" JS strings (one char per byte, 0..255) so lookups are plain Map hits.
 */
const NO_RANK = 0x7fffffff;

export class BytePairEncoder {
  private readonly rankOf = new Map<string, number>();
  // Natural text repeats its pieces constantly; remembering them is the biggest single speed-up.
  private readonly cache = new Map<string, readonly number[]>();
  private static readonly CACHE_LIMIT = 100_000;

  constructor(rankBytes: readonly Uint8Array[]) {
    for (let rank = 0; rank < rankBytes.length; rank++) {
      const key = bytesToKey(rankBytes[rank]!);
      // Keep the lowest rank if a byte string appears twice, as tiktoken's table would.
      if (!this.rankOf.has(key)) this.rankOf.set(key, rank);
    }
  }

  /** Appends the ranks of one pre-tokenised piece (given as a binary key) to `out`. */
  encodeKey(key: string, out: number[]): void {
    const whole = this.rankOf.get(key);
    if (whole !== undefined) {
      out.push(whole);
      return;
    }
    let ranks = this.cache.get(key);
    if (ranks === undefined) {
      ranks = this.merge(key);
      if (this.cache.size >= BytePairEncoder.CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, ranks);
    }
    for (const rank of ranks) out.push(rank);
  }

  private merge(key: string): number[] {
    const n = key.length;
    // starts[i] = byte offset of part i; pairRank[i] = rank of part i joined with part i+1.
    const starts = new Int32Array(n + 1);
    const pairRank = new Int32Array(n + 1);
    for (let i = 0; i <= n; i++) starts[i] = i;
    for (let i = 0; i < n - 1; i++) pairRank[i] = this.rankOrNone(key, i, i + 2);
    pairRank[n - 1] = NO_RANK;
    pairRank[n] = NO_RANK;
    let parts = n + 1; // number of boundaries in `starts`

    for (;;) {
      let best = NO_RANK;
      let at = -1;
      for (let i = 0; i < parts - 1; i++) {
        if (pairRank[i]! < best) {
          best = pairRank[i]!;
          at = i;
        }
      }
      if (at < 0) break;
      // Part `at` absorbs part `at+1`: drop boundary at+1, then refresh the two pair ranks that changed.
      starts.copyWithin(at + 1, at + 2, parts);
      pairRank.copyWithin(at + 1, at + 2, parts);
      parts--;
      pairRank[at] = at + 2 < parts ? this.rankOrNone(key, starts[at]!, starts[at + 2]!) : NO_RANK;
      if (at > 0) pairRank[at - 1] = this.rankOrNone(key, starts[at - 1]!, starts[at + 1]!);
    }

    const ranks: number[] = [];
    for (let i = 0; i < parts - 1; i++) {
      const rank = this.rankOf.get(key.slice(starts[i], starts[i + 1]));
      // Every single byte is a rank, so a merge result always exists.
      ranks.push(rank!);
    }
    return ranks;
  }

  private rankOrNone(key: string, from: number, to: number): number {
    return this.rankOf.get(key.slice(from, to)) ?? NO_RANK;
  }
}

export function bytesToKey(bytes: Uint8Array): string {
  let key = '';
  for (let i = 0; i < bytes.length; i++) key += String.fromCharCode(bytes[i]!);
  return key;
}

// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL on purpose
const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** The binary key of a piece of text: its UTF-8 bytes, one char per byte. */
export function textToKey(text: string): string {
  return ASCII_ONLY.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}
