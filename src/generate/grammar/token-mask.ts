/**
 * The tokens a grammar state allows, as a bitset over the vocabulary: found by walking the token trie with
 * the state's machine (a byte the machine rejects prunes every token below it, so only viable prefixes are
 * ever tried), and cached by the state's canonical key in a bounded LRU shared by every sequence of a
 * tokenizer — the same states recur (a value's start, the inside of a string), so the walk runs once per
 * state rather than once per token.
 */
import type { JsonMachine } from './json-machine.js';
import { StringMasks } from './string-mask.js';
import type { TokenBytes } from './token-trie.js';
import { type TokenTrie, tokenTrie } from './token-trie.js';

/** Hits and misses of every mask cache in this thread (for the grammar benchmark). */
export const maskStats = { hits: 0, misses: 0 };

let epoch = 0;

/** Empties every mask cache (for the grammar benchmark's cold runs). */
export function clearMaskCaches(): void {
  epoch++;
}

/** 16 KiB per mask over 131K tokens: 2048 masks ≈ 32 MiB at most. */
const CAPACITY = 2048;

export class MaskCache {
  private readonly masks = new Map<string, Uint32Array>();
  private readonly strings: StringMasks;
  private epoch = epoch;
  hits = 0;
  misses = 0;

  constructor(
    readonly trie: TokenTrie,
    readonly tokens: TokenBytes,
  ) {
    this.strings = new StringMasks(tokens);
  }

  /** The mask of `machine`'s state when it is cached (no search), else null. */
  cached(machine: JsonMachine): Uint32Array | null {
    return this.lookup(machine.key());
  }

  private lookup(key: string): Uint32Array | null {
    if (this.epoch !== epoch) {
      this.masks.clear();
      this.epoch = epoch;
    }
    const cached = this.masks.get(key);
    if (!cached) return null;
    this.hits++;
    maskStats.hits++;
    // Map order is insertion order: re-inserting marks the entry as most recently used.
    this.masks.delete(key);
    this.masks.set(key, cached);
    return cached;
  }

  /** The allowed tokens of `machine`'s state (EOS and control tokens are never in it). */
  mask(machine: JsonMachine): Uint32Array {
    const key = machine.key();
    const cached = this.lookup(key);
    if (cached) return cached;
    this.misses++;
    maskStats.misses++;
    const mask = new Uint32Array(Math.ceil(this.tokens.vocabSize / 32));
    const body = machine.soleTop()?.stringBody?.();
    if (body) this.strings.mask(body, machine, mask);
    else walk(this.trie, machine, mask);
    if (this.masks.size >= CAPACITY) this.masks.delete(this.masks.keys().next().value!);
    this.masks.set(key, mask);
    return mask;
  }

  get size(): number {
    return this.masks.size;
  }
}

function walk(trie: TokenTrie, machine: JsonMachine, bits: Uint32Array): void {
  const { firstChild, childCount, token, byte } = trie;
  // Depth first; the last child reuses its parent's machine, the others get clones.
  const visit = (node: number, state: JsonMachine) => {
    const first = firstChild[node]!;
    const end = first + childCount[node]!;
    for (let c = first; c < end; c++) {
      const m = c === end - 1 ? state : state.clone();
      if (!m.push(byte[c]!)) continue;
      const id = token[c]!;
      if (id >= 0) bits[id >>> 5]! |= 1 << (id & 31);
      if (childCount[c]! > 0) visit(c, m);
    }
  };
  visit(0, machine.clone());
}

const caches = new WeakMap<TokenBytes, MaskCache>();

/** The mask cache of a tokenizer. */
export function maskCache(tokens: TokenBytes): MaskCache {
  let cache = caches.get(tokens);
  if (!cache) caches.set(tokens, (cache = new MaskCache(tokenTrie(tokens), tokens)));
  return cache;
}

export const allowed = (mask: Uint32Array, id: number): boolean => (mask[id >>> 5]! & (1 << (id & 31))) !== 0;
