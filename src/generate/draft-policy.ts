/**
 * When prompt lookup pays, and how many tokens to draft. Verifying K drafted tokens costs one forward pass over
 * K + 1 positions: on a big model that is one read of the weights plus K positions of arithmetic, so it beats
 * plain decoding only when enough drafts are accepted. The policy measures both sides as they run — the time of a
 * plain step, and of a verification at each draft length (the kernels take tokens in groups, so the cost is not a
 * straight line: on the 12B's q4 shapes here 2 drafts cost 1.14 steps, 4 cost 1.94, 8 cost 3.18) — and the
 * acceptance rate of the sequence's drafts, and picks the draft length with the most tokens per second, or none
 * when plain decoding is faster. While it declines, it
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
  /** Seconds of a verification, by draft length (0 = not measured yet). */
  private readonly verify = new Array<number>(MAX_DRAFT_TOKENS + 1).fill(0);

  plainStep(seconds: number): void {
    this.step = smooth(this.step, seconds);
  }

  verified(drafted: number, seconds: number): void {
    if (drafted > 0 && drafted <= MAX_DRAFT_TOKENS)
      this.verify[drafted] = smooth(this.verify[drafted]!, seconds);
  }

  /**
   * Expected seconds of verifying `k` drafts: measured, or else drawn through the nearest measured lengths (a
   * straight line from the plain step below the first one: optimistic, so an unmeasured length gets tried).
   */
  verifySeconds(k: number): number {
    if (this.verify[k]) return this.verify[k];
    let below = 0;
    let belowSeconds = this.step;
    for (let j = k - 1; j >= 1; j--)
      if (this.verify[j]) {
        [below, belowSeconds] = [j, this.verify[j]];
        break;
      }
    for (let j = k + 1; j <= MAX_DRAFT_TOKENS; j++)
      if (this.verify[j]) return belowSeconds + ((this.verify[j] - belowSeconds) * (k - below)) / (j - below);
    return belowSeconds; // nothing measured above: as cheap as the last known
  }
}

function smooth(average: number, sample: number): number {
  return average === 0 ? sample : average + SMOOTHING * (sample - average);
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
    const { step } = this.timings;
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
      const rate = expected / this.timings.verifySeconds(k);
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
