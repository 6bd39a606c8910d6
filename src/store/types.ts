/**
 * The state that must survive a restart — API keys, the usage ledger, and the counts behind rate limits and
 * quotas — behind one interface with two implementations: SQLite (one machine) and PostgreSQL (replicas).
 * Every method is async so both implementations share one contract and one test suite.
 */

export type Tier = 'free' | 'paid';

export interface ApiKeyRecord {
  /** Public identifier, e.g. "key_3f9a…"; safe to log and show. */
  readonly id: string;
  readonly name: string;
  readonly tier: Tier;
  /** The first characters of the secret (e.g. "ptk_AbC1"), to recognise a key in listings. */
  readonly prefix: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export interface CreatedKey {
  readonly record: ApiKeyRecord;
  /** The secret, shown once; only its hash is stored. */
  readonly secret: string;
}

/** Limits of a tier; null = unlimited. */
export interface TierLimits {
  readonly requestsPerMinute: number | null;
  readonly tokensPerMinute: number | null;
  readonly monthlyTokens: number | null;
}

export interface LimitWindow {
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the window has room again (sliding minute) or the month rolls over. */
  readonly resetSeconds: number;
}

/** What the rate-limit headers report; a null window is unlimited. */
export interface RateLimitState {
  readonly requests: LimitWindow | null;
  readonly tokens: LimitWindow | null;
  readonly monthly: LimitWindow | null;
}

export interface RequestStart {
  /** null when the server runs with --no-auth. */
  readonly keyId: string | null;
  readonly model: string;
  /** Known before generation (image tokens included); counted against the token limits at admission. */
  readonly promptTokens: number;
  /** Which server process owns the in-flight row (so a restarted replica can close its own leftovers). */
  readonly replica: string;
}

export type Admission =
  | { readonly allowed: true; readonly requestId: string; readonly limits: RateLimitState }
  | {
      readonly allowed: false;
      readonly exceeded: 'requests' | 'tokens' | 'monthly';
      readonly retryAfterSeconds: number;
      readonly limits: RateLimitState;
    };

export type RequestStatus = 'in_progress' | 'completed' | 'cancelled' | 'failed' | 'interrupted';

export interface RequestOutcome {
  readonly status: 'completed' | 'cancelled' | 'failed';
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Of the prompt tokens, those whose keys and values came from the prefix cache. */
  readonly cachedTokens?: number;
  readonly latencyMs: number;
  /** HTTP status returned (or 200 for a stream that ended normally). */
  readonly httpStatus: number;
}

/** US dollars per million tokens. */
export interface Prices {
  readonly inputPerMillion: number;
  readonly outputPerMillion: number;
  /** Prompt tokens served from the prefix cache; unset: the input price. */
  readonly cachedInputPerMillion?: number;
}

export const DEFAULT_PRICES: Prices = { inputPerMillion: 0.25, outputPerMillion: 1.25 };

export interface LedgerRow {
  readonly requestId: string;
  readonly keyId: string | null;
  readonly model: string;
  readonly status: RequestStatus;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Of the prompt tokens, those served from the prefix cache. */
  readonly cachedTokens: number;
  /** Exact cost in US dollars (stored as integer nano-dollars). */
  readonly costUsd: number;
  readonly latencyMs: number | null;
  readonly httpStatus: number | null;
  readonly replica: string;
  readonly startedAt: number;
  readonly finishedAt: number | null;
}

export interface UsageFilter {
  readonly keyId?: string;
  /** Milliseconds since the epoch; rows started at or after. */
  readonly since?: number;
  readonly limit?: number;
}

/** Sums over the ledger rows a filter selects (every status; unbilled rows add their tokens, not cost). */
export interface UsageTotals {
  readonly requests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens: number;
  readonly costUsd: number;
}

export interface Store {
  /** Creates or upgrades the schema (idempotent; safe when several replicas start at once). */
  migrate(): Promise<void>;
  createKey(name: string, tier: Tier): Promise<CreatedKey>;
  listKeys(): Promise<ApiKeyRecord[]>;
  /** Revokes by id; false when no such (unrevoked) key. */
  revokeKey(id: string): Promise<boolean>;
  /** The live key whose secret this is, or null (unknown or revoked). */
  authenticate(secret: string): Promise<ApiKeyRecord | null>;
  /**
   * Atomically checks the key's limits and, when allowed, records an in_progress ledger row. Concurrent
   * admissions for one key (also from other replicas on PostgreSQL) are serialised so limits hold. Without
   * `now` the store reads the clock once it holds the key's lock, so started_at follows the admission order.
   */
  admit(start: RequestStart, limits: TierLimits, now?: number): Promise<Admission>;
  /** The limit state of a key without admitting anything (for headers on error paths). */
  limitState(keyId: string, limits: TierLimits, now?: number): Promise<RateLimitState>;
  /**
   * Completes an in_progress row with its usage and cost in one statement. Returns false (and changes nothing)
   * when the row is not in progress any more — a request is never billed twice.
   */
  finish(requestId: string, outcome: RequestOutcome, prices: Prices, now?: number): Promise<boolean>;
  /** Marks this replica's leftover in_progress rows (from a crash) as interrupted, unbilled; returns how many. */
  recoverInterrupted(replica: string, now?: number): Promise<number>;
  /** Records that `replica` is alive at `now`; its lease runs from here (see lease.ts). */
  heartbeat(replica: string, now?: number): Promise<void>;
  /**
   * Marks as interrupted, unbilled (like recoverInterrupted), every in_progress row older than `leaseMs` whose
   * replica has not heartbeated within `leaseMs` — the rows of dead processes, whatever their replica id — and
   * forgets those replicas' heartbeats; returns how many rows. Replicas may sweep at once: each row closes once.
   */
  sweepSilentReplicas(leaseMs: number, now?: number): Promise<number>;
  /** Removes `replica`'s heartbeat (graceful shutdown); rows it left open become sweepable once old enough. */
  retireReplica(replica: string): Promise<void>;
  usage(filter?: UsageFilter): Promise<LedgerRow[]>;
  /** Totals over the rows usage(filter) would return without its limit, computed in the database. */
  usageTotals(filter?: Omit<UsageFilter, 'limit'>): Promise<UsageTotals>;
  close(): Promise<void>;
}
