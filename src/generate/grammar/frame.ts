/** What every parse frame of the JSON validator shares: the step protocol and byte classes. */
import type { SchemaNode } from './schema.js';

/** consumed | rejected | consumed and complete | complete without this byte (parent re-reads it) | start a value */
export type Step = 'ok' | 'reject' | 'done' | 'refeed' | { readonly spawn: SchemaNode };

export interface Frame {
  push(byte: number): Step;
  /** Whether the frame is a complete value if the input ended here (numbers, literals). */
  canEnd(): boolean;
  /**
   * The shortest bytes that finish this frame from its current state, taking a child value it has started
   * as finished (the child's own completion comes first). Used to close a document when the budget runs out.
   */
  completion(): number[];
  /**
   * A canonical key of the state: two frames with equal keys accept exactly the same byte strings from here
   * (counters that no longer matter are left out), so token masks can be cached per key.
   */
  key(): string;
  clone(): Frame;
  /**
   * When the frame is inside a string (a value's or a free key's), the string: until its closing quote, the
   * frame accepts exactly the bytes the string does — which lets a mask be read off a per-token table.
   */
  stringBody?(): StringBody | null;
}

/** What a token mask needs of a string in progress (see StringFrame). */
export interface StringBody {
  /** Characters that may still be added. */
  readonly room: number;
  /** The escape and UTF-8 state, as a key: equal keys accept the same bytes up to a quote. */
  subState(): string;
  /** A copy at the same escape and UTF-8 state, with no characters and no length bounds. */
  probe(): StringBody & Frame;
  /** Characters so far. */
  readonly length: number;
}

/**
 * Whitespace outside strings is compact JSON's and no more: one optional space right after `:` and `,`, nowhere
 * else (not at the start, not before `:` `,` `}` `]`, not after `{` `[`). Every other padding would be a way for
 * a sampled model to spend its whole budget on blanks and never close the document.
 */
export const SPACE = 0x20;

export const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
