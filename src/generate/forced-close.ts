/**
 * Closing a constrained answer before max_tokens cuts it: after every pick the document must still be
 * completable in the tokens left; a pick that would break that is replaced by the shortest completion, forced
 * token by token. So JSON mode answers always parse and validate, and `truncated` says the document was
 * closed early (with finish_reason 'length').
 */
import { SpecialId } from '../tokenizer/index.js';
import type { JsonConstraint } from './grammar/token-constraint.js';

export class ForcedClose {
  private queue: number[] = [];
  /** Whether the closing tokens were forced (the document was closed early). */
  truncated = false;

  constructor(private readonly constraint: JsonConstraint) {}

  /** The next closing token, while a forced close is under way. */
  next(): number | undefined {
    return this.queue.shift();
  }

  /** Whether the forced close has written its last token. */
  get closed(): boolean {
    return this.truncated && this.queue.length === 0;
  }

  /**
   * The model picked `id` with `budget` tokens left after it: `id` when the document can still be completed
   * in them, else the first token of the shortest completion from here (the invariant kept at every step
   * makes it fit). When not even that fits — max_tokens below the shortest document — the pick stands.
   */
  settle(id: number, budget: number): number {
    if (id === SpecialId.EOS || this.constraint.fitsAfter(id, budget)) return id;
    const closing = this.constraint.closingTokens();
    if (closing === null || closing.length > budget + 1) return id;
    if (closing.length === 0) return SpecialId.EOS;
    this.truncated = true;
    this.queue = closing;
    return this.queue.shift()!;
  }
}
