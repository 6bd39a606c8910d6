/**
 * Rate-limit and quota arithmetic shared by both stores. The stores only count ledger rows (inside their
 * per-key lock); everything about windows, admission and headers is decided here, so SQLite and PostgreSQL
 * cannot drift apart.
 *
 * Windows: the minute window holds rows with started_at > now - 60 s (sliding); the month window holds rows
 * started since the first instant of the current UTC calendar month. Every row counts as a request whatever its
 * status (an interrupted or failed request was still a request); its tokens count as recorded.
 *
 * Neither window has an upper bound: a row the store can see was admitted before this admission, so it counts
 * even when its started_at is later than `now` — another replica's clock may run ahead, or the admission read
 * `now` before it queued for the key's lock. Bounding by `now` let such rows slip out and over-admit.
 * For the same reason the stores read the clock (when no `now` is given) only once they hold the key's lock.
 */
import type { RateLimitState, TierLimits } from './types.js';

export const MINUTE_MS = 60_000;

export interface UsageCounts {
  /** Requests started in the minute window, any status. */
  readonly minuteRequests: number;
  /** Σ(prompt + completion tokens) of the rows in the minute window. */
  readonly minuteTokens: number;
  /** started_at of the oldest row in the minute window; null when the window is empty. */
  readonly minuteOldestStart: number | null;
  /** Σ(prompt + completion tokens) of the rows started this UTC month. */
  readonly monthTokens: number;
}

export const EMPTY_COUNTS: UsageCounts = {
  minuteRequests: 0,
  minuteTokens: 0,
  minuteOldestStart: null,
  monthTokens: 0,
};

export type AdmissionDecision =
  | { readonly allowed: true; readonly limits: RateLimitState }
  | {
      readonly allowed: false;
      readonly exceeded: 'requests' | 'tokens' | 'monthly';
      readonly retryAfterSeconds: number;
      readonly limits: RateLimitState;
    };

/** Exclusive lower bound of the minute window: a row started exactly 60 s ago has left it. */
export function minuteWindowStart(now: number): number {
  return now - MINUTE_MS;
}

export function monthStart(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextMonthStart(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Whether the store must count the minute window / the month at all (unlimited tiers skip the queries). */
export function needsMinuteCounts(limits: TierLimits): boolean {
  return limits.requestsPerMinute !== null || limits.tokensPerMinute !== null;
}

export function needsMonthCounts(limits: TierLimits): boolean {
  return limits.monthlyTokens !== null;
}

function ceilSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Seconds until the oldest row leaves the minute window (at least 1), or 0 when the window is empty. */
function minuteReset(counts: UsageCounts, now: number): number {
  if (counts.minuteOldestStart === null) return 0;
  return ceilSeconds(counts.minuteOldestStart + MINUTE_MS - now);
}

function monthReset(now: number): number {
  return ceilSeconds(nextMonthStart(now) - now);
}

function window(limit: number | null, used: number, resetSeconds: number) {
  return limit === null ? null : { limit, remaining: Math.max(0, limit - used), resetSeconds };
}

export function limitStateFrom(counts: UsageCounts, limits: TierLimits, now: number): RateLimitState {
  const minute = minuteReset(counts, now);
  return {
    requests: window(limits.requestsPerMinute, counts.minuteRequests, minute),
    tokens: window(limits.tokensPerMinute, counts.minuteTokens, minute),
    monthly: window(limits.monthlyTokens, counts.monthTokens, monthReset(now)),
  };
}

/**
 * A token window rejects only when it already holds something: a single prompt larger than the whole limit
 * is let through on an empty window (otherwise it could never run), and then blocks the window until it ages out.
 */
function tokensWouldExceed(used: number, promptTokens: number, limit: number): boolean {
  return used > 0 && used + promptTokens > limit;
}

/**
 * Decides one admission. On success the returned state already includes the admitted request, so the
 * rate-limit headers of the response say what is left after it.
 */
export function decideAdmission(
  counts: UsageCounts,
  limits: TierLimits,
  promptTokens: number,
  now: number,
): AdmissionDecision {
  const reject = (exceeded: 'requests' | 'tokens' | 'monthly', retryAfterSeconds: number) => ({
    allowed: false as const,
    exceeded,
    retryAfterSeconds,
    limits: limitStateFrom(counts, limits, now),
  });
  // With no row in the window there is nothing to wait for but a full minute (only reachable with a limit of 0).
  const minuteRetry = counts.minuteOldestStart === null ? MINUTE_MS / 1000 : minuteReset(counts, now);

  if (limits.requestsPerMinute !== null && counts.minuteRequests >= limits.requestsPerMinute) {
    return reject('requests', minuteRetry);
  }
  if (
    limits.tokensPerMinute !== null &&
    tokensWouldExceed(counts.minuteTokens, promptTokens, limits.tokensPerMinute)
  ) {
    return reject('tokens', minuteRetry);
  }
  if (
    limits.monthlyTokens !== null &&
    (counts.monthTokens >= limits.monthlyTokens ||
      tokensWouldExceed(counts.monthTokens, promptTokens, limits.monthlyTokens))
  ) {
    return reject('monthly', monthReset(now));
  }
  const after: UsageCounts = {
    minuteRequests: counts.minuteRequests + 1,
    minuteTokens: counts.minuteTokens + promptTokens,
    minuteOldestStart: counts.minuteOldestStart ?? now,
    monthTokens: counts.monthTokens + promptTokens,
  };
  return { allowed: true, limits: limitStateFrom(after, limits, now) };
}
