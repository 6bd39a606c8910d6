/**
 * When prompt lookup pays, and how many tokens to draft. Verifying K drafted tokens costs one forward pass over
 * K + 1 positions: on a big model that is one read of the weights plus K positions of arithmetic, so it beats
 * plain decoding only when enough drafts are accepted. The policy measures both sides as they run — the time of a
 * plain step, the extra time per verified position — and the acceptance rate of the sequence's drafts, and picks
 * the draft length with the most tokens per second, or none when plain decoding is faster. While it declines, it
 * still probes with a short draft now and then, so a sequence that starts copying is noticed.
 */

/** Longest draft: prompt lookup rarely copies runs longer than this right. */
export const MAX_DRAFT_TOKENS = 8;
/** Plain steps between probes while speculation does not pay. */
const PROBE_EVERY = 16;
/** How many of its own comparisons a sequence's acceptance estimate starts with, from the shared one. */
const PRIOR_WEIGHT = 4;
/** Weight of the newest timing in the running averages. */
const SMOOTHING = 0.2;

/**
 * What every sequence of a model shares: the timings (they depend on the model and the machine, not the text)
 * and the acceptance over all drafts so far, the prior of a new sequence (requests of one workload look alike).
 */
export class DraftTimings {
  accepted = 0;
  compared = 0;
  /** Seconds of a plain single-sequence decode step. */
  step = 0;
  /** Extra seconds per verified position beyond the first (optimistic until measured). */
  perToken = 0;
  private measuredVerify = false;

  plainStep(seconds: number): void {
    this.step = this.step === 0 ? seconds : this.step + SMOOTHING * (seconds - this.step);
  }

  verified(drafted: number, seconds: number): void {
    if (this.step === 0 || drafted === 0) return;
    const extra = Math.max(0, seconds - this.step) / drafted;
    this.perToken = this.measuredVerify ? this.perToken + SMOOTHING * (extra - this.perToken) : extra;
    this.measuredVerify = true;
  }
}

/** One sequence's drafting: its acceptance so far, and the length to draft next. */
export class DraftPolicy {
  private accepted = 0;
  /** Draft positions compared: every accepted one, plus the first rejected one. */
  private compared = 0;
  private sinceProbe = 0;

  constructor(
    private readonly timings: DraftTimings,
    /** 'always': draft the most every time (tests, measurements); 'adaptive': only when it pays. */
    private readonly mode: 'adaptive' | 'always' = 'adaptive',
  ) {}

  /** Records a verification: `drafted` tokens offered, `accepted` of them kept. */
  record(drafted: number, accepted: number): void {
    const compared = accepted < drafted ? accepted + 1 : accepted;
    this.accepted += accepted;
    this.compared += compared;
    this.timings.accepted += accepted;
    this.timings.compared += compared;
  }

  /** Tokens to draft now (at most `room`), 0 for a plain step. */
  draftLength(room: number): number {
    const most = Math.min(MAX_DRAFT_TOKENS, room);
    if (most <= 0) return 0;
    if (this.mode === 'always') return most;
    const { step, perToken } = this.timings;
    // Until a plain step has been timed there is nothing to compare with: start plainly.
    if (step === 0) return 0;
    // Chance that each next drafted token is right: this sequence's drafts, after the model's drafts so far as
    // a prior worth four comparisons (and a uniform one before any).
    const prior = (this.timings.accepted + 1) / (this.timings.compared + 2);
    const p = (this.accepted + PRIOR_WEIGHT * prior) / (this.compared + PRIOR_WEIGHT);
    let best = 0;
    let bestRate = 0;
    let expected = 1; // tokens a verification yields: the sampled one plus the accepted run
    for (let k = 1; k <= most; k++) {
      expected += p ** k;
      const rate = expected / (step + k * perToken);
      if (rate > bestRate) [best, bestRate] = [k, rate];
    }
    // Worth it only if clearly faster than plain decoding (timings are noisy).
    if (bestRate > 1.05 / step) {
      this.sinceProbe = 0;
      return best;
    }
    // Not worth it now; probe with a short draft now and then.
    if (++this.sinceProbe >= PROBE_EVERY) {
      this.sinceProbe = 0;
      return Math.min(2, most);
    }
    return 0;
  }
}
