/**
 * Masks inside a string without a trie walk. Until its closing quote a string accepts a token by its own rules
 * alone — escapes and UTF-8 from the state it is in, and the characters it adds against the room left — so
 * for each escape/UTF-8 state one pass over the vocabulary records every token's character count (or that it
 * is refused, or that it closes the string). A mask is then a scan of that table against the room, plus the
 * few hundred closing tokens tried on the machine itself (their tail is the parent's business). Exact, and
 * ~1 ms instead of a walk through nearly the whole trie.
 */
import type { StringBody } from './frame.js';
import type { JsonMachine } from './json-machine.js';
import type { TokenBytes } from './token-trie.js';

const REFUSED = -1;

interface BodyTable {
  /** Per token: the characters it adds to the string, or REFUSED (also for closing tokens). */
  readonly chars: Int16Array;
  /** Tokens with the closing quote in them (and only string bytes before it). */
  readonly closing: Int32Array;
}

export class StringMasks {
  private readonly tables = new Map<string, BodyTable>();

  constructor(private readonly tokens: TokenBytes) {}

  /** Sets the bits of the tokens `machine` allows, its one parse being inside the string `body`. */
  mask(body: StringBody, machine: JsonMachine, bits: Uint32Array): void {
    const { chars, closing } = this.table(body);
    const room = body.room;
    for (let id = 0; id < chars.length; id++) {
      const c = chars[id]!;
      if (c >= 0 && c <= room) bits[id >>> 5]! |= 1 << (id & 31);
    }
    for (const id of closing)
      if (machine.clone().pushBytes(this.tokens.tokenBytes(id)!)) bits[id >>> 5]! |= 1 << (id & 31);
  }

  private table(body: StringBody): BodyTable {
    const key = body.subState();
    let table = this.tables.get(key);
    if (!table) this.tables.set(key, (table = this.build(body)));
    return table;
  }

  private build(body: StringBody): BodyTable {
    const { tokens } = this;
    const chars = new Int16Array(tokens.vocabSize).fill(REFUSED);
    const closing: number[] = [];
    for (let id = 0; id < tokens.vocabSize; id++) {
      const bytes = tokens.tokenBytes(id);
      if (!bytes || bytes.length === 0) continue;
      // An unbounded string from the same state: what it refuses, `body` refuses whatever its room.
      const probe = body.probe();
      let step = 'ok';
      for (let i = 0; i < bytes.length && step === 'ok'; i++) step = probe.push(bytes[i]!) as string;
      if (step === 'ok') chars[id] = probe.length;
      else if (step === 'done') closing.push(id);
    }
    return { chars, closing: Int32Array.from(closing) };
  }
}
