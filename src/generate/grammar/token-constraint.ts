/**
 * A JSON schema applied to whole tokens: a token is allowed when its bytes keep the output a valid prefix of a
 * document of the schema, and EOS only once the document is complete (then nothing else is) — so JSON mode and
 * tool calls always end as parseable JSON unless max_tokens cuts them short.
 */
import { SpecialId } from '../../tokenizer/special-tokens.js';
import { JsonMachine } from './json-machine.js';
import type { SchemaNode } from './schema.js';

export interface TokenConstraint {
  allows(id: number): boolean;
  /** Sets the logit of every token the constraint refuses to −∞ (the exact, whole-vocabulary check). */
  maskRefused(logits: Float32Array): void;
  accept(id: number): void;
}

export interface TokenBytes {
  tokenBytes(id: number): Uint8Array | null;
}

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

  maskRefused(logits: Float32Array): void {
    // Most tokens fail on their first byte (a letter where `,` or `}` must come): test each byte value once.
    const firstByteFits = new Uint8Array(256);
    for (let b = 0; b < 256; b++) firstByteFits[b] = this.machine.clone().push(b) ? 1 : 0;
    for (let id = 0; id < logits.length; id++) {
      if (logits[id] === -Infinity) continue;
      if (id === SpecialId.EOS) {
        if (!this.machine.complete) logits[id] = -Infinity;
        continue;
      }
      const bytes = this.tokens.tokenBytes(id);
      const fits =
        bytes !== null &&
        bytes.length > 0 &&
        firstByteFits[bytes[0]!] === 1 &&
        (bytes.length === 1 || this.machine.clone().pushBytes(bytes));
      if (!fits) logits[id] = -Infinity;
    }
  }

  accept(id: number): void {
    if (id === SpecialId.EOS) return;
    const bytes = this.tokens.tokenBytes(id);
    if (!bytes || !this.machine.pushBytes(bytes))
      throw new Error(`token ${id} does not fit the JSON constraint`);
  }
}
