/**
 * Database rows → API records, shared by both stores. PostgreSQL returns BIGINT and SUM() as strings (they
 * may exceed 2^53 in general); ours are milliseconds, token counts and nano-dollars, all far below that, so
 * they are converted to numbers here, once.
 */
import { nanoToUsd } from './cost.js';
import type { ApiKeyRecord, LedgerRow, RequestStatus, Tier, UsageFilter, UsageTotals } from './types.js';

type Num = number | string | bigint;

export interface KeyRow {
  id: string;
  name: string;
  tier: string;
  prefix: string;
  created_at: Num;
  revoked_at: Num | null;
}

export interface RequestRow {
  id: string;
  key_id: string | null;
  model: string;
  status: string;
  prompt_tokens: Num;
  completion_tokens: Num;
  cached_tokens: Num;
  cost_nanousd: Num;
  latency_ms: Num | null;
  http_status: Num | null;
  replica: string;
  started_at: Num;
  finished_at: Num | null;
}

export const KEY_COLUMNS = 'id, name, tier, prefix, created_at, revoked_at';
export const REQUEST_COLUMNS =
  'id, key_id, model, status, prompt_tokens, completion_tokens, cached_tokens, cost_nanousd, latency_ms, http_status, replica, started_at, finished_at';

export function toNumber(value: Num): number {
  return typeof value === 'number' ? value : Number(value);
}

function toNullableNumber(value: Num | null): number | null {
  return value === null ? null : toNumber(value);
}

export function toKeyRecord(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    tier: row.tier as Tier,
    prefix: row.prefix,
    createdAt: toNumber(row.created_at),
    revokedAt: toNullableNumber(row.revoked_at),
  };
}

export function toLedgerRow(row: RequestRow): LedgerRow {
  return {
    requestId: row.id,
    keyId: row.key_id,
    model: row.model,
    status: row.status as RequestStatus,
    promptTokens: toNumber(row.prompt_tokens),
    completionTokens: toNumber(row.completion_tokens),
    cachedTokens: toNumber(row.cached_tokens),
    costUsd: nanoToUsd(toNumber(row.cost_nanousd)),
    latencyMs: toNullableNumber(row.latency_ms),
    httpStatus: toNullableNumber(row.http_status),
    replica: row.replica,
    startedAt: toNumber(row.started_at),
    finishedAt: toNullableNumber(row.finished_at),
  };
}

/**
 * The WHERE clause (empty when unfiltered) and parameters of a usage query, shared by both dialects:
 * `placeholder(n)` writes the n-th (1-based) parameter as the dialect wants it.
 */
export function usageWhere(
  filter: Omit<UsageFilter, 'limit'>,
  placeholder: (n: number) => string,
): { clause: string; params: (string | number)[] } {
  const conditions: string[] = [];
  const params: (string | number)[] = [];
  if (filter.keyId !== undefined) {
    params.push(filter.keyId);
    conditions.push(`key_id = ${placeholder(params.length)}`);
  }
  if (filter.since !== undefined) {
    params.push(filter.since);
    conditions.push(`started_at >= ${placeholder(params.length)}`);
  }
  return { clause: conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '', params };
}

export const USAGE_TOTALS_COLUMNS =
  'COUNT(*) AS requests, COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens, ' +
  'COALESCE(SUM(completion_tokens), 0) AS completion_tokens, COALESCE(SUM(cached_tokens), 0) AS cached_tokens, ' +
  'COALESCE(SUM(cost_nanousd), 0) AS cost_nanousd';

export interface TotalsRow {
  requests: Num;
  prompt_tokens: Num;
  completion_tokens: Num;
  cached_tokens: Num;
  cost_nanousd: Num;
}

export function toUsageTotals(row: TotalsRow): UsageTotals {
  return {
    requests: toNumber(row.requests),
    promptTokens: toNumber(row.prompt_tokens),
    completionTokens: toNumber(row.completion_tokens),
    cachedTokens: toNumber(row.cached_tokens),
    costUsd: nanoToUsd(toNumber(row.cost_nanousd)),
  };
}
