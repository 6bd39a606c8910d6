/**
 * A JSON schema applied to whole tokens: a token is allowed when its bytes keep the output a valid prefix of a
 * document of the schema, and EOS only once the document is complete (then nothing else is) — so JSON mode and
 * tool calls always end as parseable JSON unless max_tokens cuts them short.
 */
import { SpecialId } from '../../tokenizer/special-tokens.js';
import { JsonMachine } from './json-machine.js';
import type { SchemaNode } from './schema.js';
import { allowed, maskCache } from './token-mask.js';
import { type TokenBytes, tokenTrie } from './token-trie.js';

export interface TokenConstraint {
  allows(id: number): boolean;
  /** Sets the logit of every token the constraint refuses to −∞ (the exact, whole-vocabulary check). */
  maskRefused(logits: Float32Array): void;
  /** maskRefused when the state's allowed set is known already (no search); false, leaving logits, if not. */
  maskIfCached(logits: Float32Array): boolean;
  accept(id: number): void;
}

export type { TokenBytes };

export class JsonConstraint implements TokenConstraint {
  private readonly machine: JsonMachine;

  constructor(
    private readonly tokens: TokenBytes,
    schema: SchemaNode,
  ) {
    this.machine = JsonMachine.start(schema);
  }

  allows(id: number): boolean {
    if (id === SpecialId.EOS) return this.machine.complete;
    const bytes = this.tokens.tokenBytes(id);
    if (!bytes || bytes.length === 0) return false;
    return this.machine.clone().pushBytes(bytes);
  }

  /** Masks with the cached allowed-token set of the current state (computed by a trie walk on a miss). */
  maskRefused(logits: Float32Array): void {
    this.apply(maskCache(this.tokens).mask(this.machine), logits);
  }

  maskIfCached(logits: Float32Array): boolean {
    const mask = maskCache(this.tokens).cached(this.machine);
    if (mask) this.apply(mask, logits);
    return mask !== null;
  }

  private apply(mask: Uint32Array, logits: Float32Array): void {
    const complete = this.machine.complete;
    for (let id = 0; id < logits.length; id++)
      if (id === SpecialId.EOS ? !complete : !allowed(mask, id)) logits[id] = -Infinity;
  }

  /** The shortest bytes that complete the document from here. */
  completionBytes(): Uint8Array {
    return this.machine.completion();
  }

  /** The fewest tokens that complete the document from here (empty when it is complete). */
  closingTokens(): number[] | null {
    return tokenTrie(this.tokens).encode(this.machine.completion());
  }

  /** Whether, after token `id`, the document can still be completed within `budget` more tokens. */
  fitsAfter(id: number, budget: number): boolean {
    const bytes = this.tokens.tokenBytes(id);
    if (!bytes) return true;
    const after = this.machine.clone();
    if (!after.pushBytes(bytes)) return false;
    const completion = after.completion();
    // A token has at least one byte: the byte count bounds the token count, and is usually enough.
    if (completion.length <= budget) return true;
    const ids = tokenTrie(this.tokens).encode(completion);
    return ids !== null && ids.length <= budget;
  }

  accept(id: number): void {
    if (id === SpecialId.EOS) return;
    const bytes = this.tokens.tokenBytes(id);
    if (!bytes || !this.machine.pushBytes(bytes))
      throw new Error(`token ${id} does not fit the JSON constraint`);
  }
}
