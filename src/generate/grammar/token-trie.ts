/**
 * Every non-control token's bytes in one trie, built once per tokenizer: the grammar walks it to find all
 * tokens a state allows (a rejected prefix prunes every token under it), and it turns bytes back into the
 * fewest tokens. Flat typed arrays, children of a node contiguous, so 131K tokens cost a few MB.
 */
export interface TokenBytes {
  tokenBytes(id: number): Uint8Array | null;
  readonly vocabSize: number;
}

export class TokenTrie {
  /** Per node: its first child's index, its child count, the token it completes (-1: none). */
  readonly firstChild: Int32Array;
  readonly childCount: Int32Array;
  readonly token: Int32Array;
  /** Per node: the byte on the edge into it. */
  readonly byte: Uint8Array;

  private constructor(firstChild: number[], childCount: number[], token: number[], byte: number[]) {
    this.firstChild = Int32Array.from(firstChild);
    this.childCount = Int32Array.from(childCount);
    this.token = Int32Array.from(token);
    this.byte = Uint8Array.from(byte);
  }

  static build(tokens: TokenBytes): TokenTrie {
    const entries: [Uint8Array, number][] = [];
    for (let id = 0; id < tokens.vocabSize; id++) {
      const bytes = tokens.tokenBytes(id);
      if (bytes && bytes.length > 0) entries.push([bytes, id]);
    }
    entries.sort(([a], [b]) => compareBytes(a, b));
    // Breadth first: each node's entries are a sorted range sharing `depth` bytes; its children are the
    // runs of equal byte at `depth`, appended together so they are contiguous.
    const firstChild = [0];
    const childCount = [0];
    const token = [-1];
    const byte = [0];
    const queue: [number, number, number, number][] = [[0, 0, entries.length, 0]]; // node, lo, hi, depth
    for (let q = 0; q < queue.length; q++) {
      const [node, lo0, hi, depth] = queue[q]!;
      let lo = lo0;
      if (lo < hi && entries[lo]![0].length === depth) token[node] = entries[lo++]![1];
      firstChild[node] = token.length;
      while (lo < hi) {
        const b = entries[lo]![0][depth]!;
        let end = lo + 1;
        while (end < hi && entries[end]![0][depth] === b) end++;
        const child = token.length;
        firstChild.push(0);
        childCount.push(0);
        token.push(-1);
        byte.push(b);
        childCount[node]!++;
        queue.push([child, lo, end, depth + 1]);
        lo = end;
      }
    }
    return new TokenTrie(firstChild, childCount, token, byte);
  }

  get size(): number {
    return this.token.length;
  }

  /** The child of `node` along `b`, or -1. */
  child(node: number, b: number): number {
    const first = this.firstChild[node]!;
    const end = first + this.childCount[node]!;
    for (let c = first; c < end; c++) if (this.byte[c] === b) return c;
    return -1;
  }

  /** The fewest tokens whose bytes are exactly `bytes` (null when some byte has no token). */
  encode(bytes: Uint8Array): number[] | null {
    const n = bytes.length;
    // best[i]: fewest tokens for bytes[i..]; next[i]: the first of them.
    const best = new Array<number>(n + 1).fill(Infinity);
    const next = new Array<number>(n + 1).fill(-1);
    const end = new Array<number>(n + 1).fill(-1);
    best[n] = 0;
    for (let i = n - 1; i >= 0; i--) {
      let node = 0;
      for (let j = i; j < n; j++) {
        node = this.child(node, bytes[j]!);
        if (node < 0) break;
        const id = this.token[node]!;
        if (id >= 0 && best[j + 1]! + 1 < best[i]!) {
          best[i] = best[j + 1]! + 1;
          next[i] = id;
          end[i] = j + 1;
        }
      }
    }
    if (best[0] === Infinity) return null;
    const ids: number[] = [];
    for (let i = 0; i < n; i = end[i]!) ids.push(next[i]!);
    return ids;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const tries = new WeakMap<TokenBytes, TokenTrie>();

/** The trie of a tokenizer, built on first use. */
export function tokenTrie(tokens: TokenBytes): TokenTrie {
  let trie = tries.get(tokens);
  if (!trie) tries.set(tokens, (trie = TokenTrie.build(tokens)));
  return trie;
}
