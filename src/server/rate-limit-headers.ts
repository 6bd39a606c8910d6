/**
 * Rate-limit state → response headers, in the naming OpenAI-compatible clients read
 * (`x-ratelimit-{limit,remaining,reset}-{requests,tokens}`), plus the monthly token quota.
 */
import type { LimitWindow, RateLimitState } from '../store/types.js';

export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  const headers: Record<string, string> = {};
  const put = (suffix: string, window: LimitWindow | null) => {
    if (!window) return;
    headers[`x-ratelimit-limit-${suffix}`] = String(window.limit);
    headers[`x-ratelimit-remaining-${suffix}`] = String(window.remaining);
    headers[`x-ratelimit-reset-${suffix}`] = `${window.resetSeconds}s`;
  };
  put('requests', state.requests);
  put('tokens', state.tokens);
  put('tokens-month', state.monthly);
  return headers;
}
