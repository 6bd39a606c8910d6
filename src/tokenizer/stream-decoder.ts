/**
 * Incremental detokenisation for streaming: feed ids one at a time, get back only complete characters.
 * A multi-byte character split across tokens is held until its last byte arrives; bytes that can never form a
 * character become U+FFFD exactly as a one-shot decode would produce them.
 */
import type { Tokenizer } from './tokenizer.js';

export class StreamDecoder {
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(private readonly tokenizer: Tokenizer) {}

  /** Text that became complete with this token ('' while a character is still partial or for control ids). */
  push(id: number): string {
    const bytes = this.tokenizer.tokenBytes(id);
    return bytes ? this.utf8.decode(bytes, { stream: true }) : '';
  }

  /** Flushes a trailing partial character (as U+FFFD) at the end of the stream. */
  end(): string {
    return this.utf8.decode();
  }
}
