/** What every parse frame of the JSON validator shares: the step protocol and byte classes. */
import type { SchemaNode } from './schema.js';

/** consumed | rejected | consumed and complete | complete without this byte (parent re-reads it) | start a value */
export type Step = 'ok' | 'reject' | 'done' | 'refeed' | { readonly spawn: SchemaNode };

export interface Frame {
  push(byte: number): Step;
  /** Whether the frame is a complete value if the input ended here (numbers, literals). */
  canEnd(): boolean;
  clone(): Frame;
}

/** Whitespace allowed in one run between tokens: enough for pretty-printing, not for endless blank output. */
export const MAX_WHITESPACE_RUN = 24;

export const isWhitespace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
export const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
