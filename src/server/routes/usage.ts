/**
 * GET /v1/usage: the caller's own ledger — totals and the latest requests — for the key that authenticates the
 * call (with --no-auth: every request). Never another key's rows.
 */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/types.js';
import { invalidField } from '../errors.js';
import type { Metering } from '../metering.js';
import { rateLimitHeaders } from '../rate-limit-headers.js';

interface UsageQuery {
  since?: string;
  limit?: number;
}

export function registerUsage(app: FastifyInstance, store: Store, metering: Metering): void {
  app.get<{ Querystring: UsageQuery }>(
    '/v1/usage',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            since: { type: 'string', maxLength: 40 },
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const since = request.query.since === undefined ? undefined : Date.parse(request.query.since);
      if (since !== undefined && Number.isNaN(since))
        throw invalidField(
          ['query', 'since'],
          'Input should be an ISO 8601 date or time',
          'datetime_parsing',
        );
      const key = request.apiKey;
      const filter = { ...(key && { keyId: key.id }), ...(since !== undefined && { since }) };
      const [rows, totals] = await Promise.all([
        store.usage({ ...filter, limit: request.query.limit ?? 100 }),
        store.usageTotals(filter),
      ]);
      const limits = await metering.limitState(key);
      // The headers from the state just read, so the app's onSend hook need not query it again.
      if (limits) reply.header('cache-control', 'no-store').headers(rateLimitHeaders(limits));
      return {
        object: 'usage',
        key: key ? { id: key.id, name: key.name, tier: key.tier } : null,
        totals: {
          requests: totals.requests,
          prompt_tokens: totals.promptTokens,
          completion_tokens: totals.completionTokens,
          cached_tokens: totals.cachedTokens,
          cost_usd: Number(totals.costUsd.toFixed(9)),
        },
        limits,
        data: rows.map((r) => ({
          id: r.requestId,
          model: r.model,
          status: r.status,
          prompt_tokens: r.promptTokens,
          completion_tokens: r.completionTokens,
          cached_tokens: r.cachedTokens,
          cost_usd: r.costUsd,
          latency_ms: r.latencyMs,
          created: Math.floor(r.startedAt / 1000),
        })),
      };
    },
  );
}
