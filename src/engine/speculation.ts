/**
 * Prompt-lookup speculative decoding as the scheduler runs it (issue #15): for a lone decoding sequence, draft
 * tokens from its prompt (generate/prompt-lookup.ts) as many as the draft policy says pay (generate/draft-policy.ts),
 * feed them with the next token in one forward pass, and keep what the sequence samples while it equals the draft.
 * Owns the timings every sequence shares and the counters /metrics shows.
 */
import { DraftPolicy, DraftTimings } from '../generate/draft-policy.js';
import { draftFromPrompt } from '../generate/prompt-lookup.js';
import type { KvCache } from '../model/kv-cache.js';
import type { PixtralModel } from '../model/pixtral.js';
import { SpecialId, type Tokenizer } from '../tokenizer/index.js';

/** Prompt-lookup decoding so far: tokens drafted, and how many of them the model confirmed. */
export interface SpeculationStats {
  readonly draftedTokens: number;
  readonly acceptedTokens: number;
  /** Forward passes that verified a draft. */
  readonly verifySteps: number;
}

export const EMPTY_SPECULATION_STATS: SpeculationStats = {
  draftedTokens: 0,
  acceptedTokens: 0,
  verifySteps: 0,
};

/** What a sequence brings to a verification. */
export interface Speculating {
  readonly prompt: readonly number[];
  /** Tokens sampled so far (the last one is `next`, not yet fed). */
  readonly tokens: readonly number[];
  readonly cache: KvCache;
  readonly next: number;
  readonly drafts: DraftPolicy;
}

export class Speculation {
  private readonly timings = new DraftTimings();
  private counts = { ...EMPTY_SPECULATION_STATS };

  constructor(
    private readonly model: PixtralModel,
    private readonly tokenizer: Tokenizer,
    /** 'always': draft the most every step (tests, measurements); 'adaptive': only when the timings say so. */
    private readonly mode: 'adaptive' | 'always',
  ) {}

  get stats(): SpeculationStats {
    return { ...this.counts };
  }

  /** A new sequence's draft policy (its own acceptance, the shared timings). */
  policy(): DraftPolicy {
    return new DraftPolicy(this.timings, this.mode);
  }

  /** Records how long a plain step of a lone sequence took: the yardstick of every draft length. */
  plainStep(seconds: number): void {
    this.timings.plainStep(seconds);
  }

  /** The tokens to verify with the next one, or none (then take a plain step). */
  draft(job: Speculating): number[] {
    // The token fed now takes one slot of the cache; the draft fits in the rest.
    const length = job.drafts.draftLength(job.cache.capacity - job.cache.length - 1);
    return length > 0 ? draftFromPrompt(job.prompt, job.tokens, length, this.undraftable) : [];
  }

  /** Control ids never go in a draft: [IMG] cannot be fed without its image, and none of them is sampled. */
  private readonly undraftable = (id: number): boolean =>
    id < this.tokenizer.numSpecial && id !== SpecialId.EOS;

  /**
   * Feeds the next token and `draft` in one forward pass, then hands each position's logits to `accept` in turn
   * — the sequence samples exactly as plain decoding would (same sampler, same random draws) — while what it
   * samples equals the drafted token. Drafts are a point mass, so "sample, keep while equal" is the standard
   * accept/reject rule: the output has the distribution of plain decoding at any temperature, and is the same
   * tokens at temperature 0. `accept` returns the token to feed next, or null when the sequence ended. Returns
   * the tokens decoded.
   */
  verify(
    job: Speculating,
    draft: readonly number[],
    accept: (logits: Float32Array) => number | null,
  ): number {
    const { cache } = job;
    const start = cache.length;
    const started = performance.now();
    const rows = this.model.forwardAll([job.next, ...draft], cache);
    this.timings.verified(draft.length, (performance.now() - started) / 1000);
    this.counts.verifySteps++;
    this.counts.draftedTokens += draft.length;
    // The cache counts only confirmed positions: the fed token, then each draft token once it is accepted (its
    // keys and values were written by this pass).
    cache.truncate(start + 1);
    let accepted = 0;
    let decoded = 0;
    for (let i = 0; i < rows.length; i++) {
      const next = accept(rows[i]!);
      decoded++;
      if (next === null || i === draft.length || next !== draft[i]) break;
      cache.advance(1); // draft[i] was right: row i + 1 holds the logits after it
      accepted++;
    }
    this.counts.acceptedTokens += accepted;
    job.drafts.record(draft.length, accepted);
    return decoded;
  }
}
