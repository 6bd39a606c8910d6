/**
 * Admission and billing around one request: check the key's limits and open its ledger row atomically (429
 * with Retry-After when over a limit), then close the row exactly once with the usage and cost. A request whose
 * row was opened always gets closed — completed, cancelled (client went away: billed for what was generated)
 * or failed — and a crash leaves it in progress for the restart to mark interrupted.
 */
import type { ApiKeyRecord, RateLimitState, Store } from '../store/types.js';
import type { ServerConfig } from './config.js';
import { ApiError } from './errors.js';
import { rateLimitHeaders } from './rate-limit-headers.js';

const EXCEEDED_MESSAGE = {
  requests: 'Requests rate limit exceeded',
  tokens: 'Tokens per minute rate limit exceeded',
  monthly: 'Monthly token quota exceeded',
} as const;

export interface OpenRequest {
  readonly requestId: string;
  readonly headers: Record<string, string>;
  readonly startedAt: number;
  close(
    status: 'completed' | 'cancelled' | 'failed',
    /** `cached`: of the prompt tokens, those served from the prefix cache. */
    tokens: { prompt: number; completion: number; cached?: number },
    httpStatus: number,
  ): Promise<void>;
}

export class Metering {
  constructor(
    private readonly store: Store,
    private readonly config: ServerConfig,
  ) {}

  private limitsOf(key: ApiKeyRecord | null) {
    return key
      ? this.config.limits[key.tier]
      : { requestsPerMinute: null, tokensPerMinute: null, monthlyTokens: null };
  }

  async limitState(key: ApiKeyRecord | null): Promise<RateLimitState | null> {
    return key ? this.store.limitState(key.id, this.limitsOf(key)) : null;
  }

  /** Opens the ledger row, or throws a 429 ApiError carrying Retry-After and the rate-limit headers. */
  async open(key: ApiKeyRecord | null, model: string, promptTokens: number): Promise<OpenRequest> {
    const startedAt = Date.now();
    const admission = await this.store.admit(
      { keyId: key?.id ?? null, model, promptTokens, replica: this.config.replica },
      this.limitsOf(key),
    );
    const headers = rateLimitHeaders(admission.limits);
    if (!admission.allowed)
      throw new ApiError(
        429,
        EXCEEDED_MESSAGE[admission.exceeded],
        'rate_limit_error',
        `${admission.exceeded}_limit_exceeded`,
        {
          ...headers,
          'retry-after': String(admission.retryAfterSeconds),
        },
      );
    const { requestId } = admission;
    let closed = false;
    return {
      requestId,
      headers,
      startedAt,
      close: async (status, tokens, httpStatus) => {
        if (closed) return;
        closed = true;
        await this.store.finish(
          requestId,
          {
            status,
            promptTokens: tokens.prompt,
            completionTokens: tokens.completion,
            cachedTokens: tokens.cached ?? 0,
            latencyMs: Date.now() - startedAt,
            httpStatus,
          },
          this.config.prices,
        );
      },
    };
  }
}
