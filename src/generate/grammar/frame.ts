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

/**
 * Whitespace between JSON tokens, as llama.cpp's JSON grammar allows it: nothing, one space, or one newline
 * followed by up to 20 spaces/tabs of indentation — enough for compact and pretty-printed JSON, and no room
 * for a model to drift into endless blank output.
 */
export class Whitespace {
  constructor(
    private length = 0,
    private newline = false,
  ) {}

  /** null: not whitespace (the run ends); true: accepted; false: whitespace beyond what is allowed. */
  accept(byte: number): boolean | null {
    if (!isWhitespace(byte)) {
      this.length = 0;
      this.newline = false;
      return null;
    }
    const first = this.length === 0;
    this.length++;
    if (first) {
      this.newline = byte === 0x0a;
      return byte === 0x20 || byte === 0x0a;
    }
    return this.newline && (byte === 0x20 || byte === 0x09) && this.length <= 21;
  }

  clone(): Whitespace {
    return new Whitespace(this.length, this.newline);
  }
}

export const isWhitespace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
export const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
