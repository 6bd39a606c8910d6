/**
 * The Store on PostgreSQL, for several server replicas sharing one ledger. Limits hold across replicas
 * because each admission runs in a transaction that first takes a transaction-scoped advisory lock on its key:
 * admissions for one key queue up (in every replica), admissions for different keys don't block each other,
 * and under READ COMMITTED each counting statement runs after the previous holder's commit, so it sees its row.
 */
import pg from 'pg';
import { costNanoUsd } from './cost.js';
import { hashSecret, looksLikeSecret, mintKey, newRequestId } from './keys.js';
import {
  EMPTY_COUNTS,
  decideAdmission,
  limitStateFrom,
  minuteWindowStart,
  monthStart,
  needsMinuteCounts,
  needsMonthCounts,
  type UsageCounts,
} from './limits.js';
import { forgetSilentSql, heartbeatSql, leaseCutoff, recoverSql, retireSql, sweepRowsSql } from './lease.js';
import { SCHEMA_MIGRATIONS_DDL, pendingMigrations } from './migrations.js';
import {
  KEY_COLUMNS,
  REQUEST_COLUMNS,
  toKeyRecord,
  toLedgerRow,
  toNumber,
  toUsageTotals,
  USAGE_TOTALS_COLUMNS,
  usageWhere,
  type KeyRow,
  type TotalsRow,
} from './rows.js';
import type {
  Admission,
  ApiKeyRecord,
  CreatedKey,
  LedgerRow,
  Prices,
  RateLimitState,
  RequestOutcome,
  RequestStart,
  Store,
  Tier,
  TierLimits,
  UsageFilter,
  UsageTotals,
} from './types.js';

/** Session-level advisory lock (single 64-bit key space) held while migrating: "pixtral" in ASCII. */
const MIGRATION_LOCK = 0x706978747261;
/**
 * Transaction-level advisory lock (single 64-bit key space) taken by every bulk interrupt (a restart's
 * recovery, a lease sweep): replicas sweeping at once then take turns instead of locking the same rows in
 * different orders, which could deadlock. "pixtrb": next to the migration lock.
 */
const INTERRUPT_LOCK = MIGRATION_LOCK + 1;
/** First half of the two-int advisory key space used for per-key admission locks (second half: hashtext(key)). */
const ADMISSION_LOCK_CLASS = 0x7078;

type Queryable = pg.Pool | pg.PoolClient;

export interface PostgresStoreOptions {
  /** Connections in the pool (default 10). */
  readonly maxConnections?: number;
  /** How long to wait for a connection before failing (default 10 s), so a wrong host fails instead of hanging. */
  readonly connectionTimeoutMs?: number;
}

export class PostgresStore implements Store {
  private readonly pool: pg.Pool;

  constructor(connectionString: string, options: PostgresStoreOptions = {}) {
    this.pool = new pg.Pool({
      connectionString,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    });
    // An idle connection dropped by the server would otherwise be an unhandled 'error' event and kill the
    // process; the pool discards that connection and the next query opens a fresh one (or reports the outage).
    this.pool.on('error', () => {});
  }

  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      // Replicas starting together queue here; the first applies the migrations, the others then find none.
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query(SCHEMA_MIGRATIONS_DDL.postgres);
        const applied = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
        const pending = pendingMigrations(
          'postgres',
          applied.rows.map((r) => r.version),
        );
        for (const migration of pending) {
          await inTransaction(client, async () => {
            for (const sql of migration.statements) await client.query(sql);
            await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
              migration.version,
              Date.now(),
            ]);
          });
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      // A connection that failed mid-way may still hold the session lock: destroy it rather than reuse it.
      client.release(broken);
    }
  }

  async createKey(name: string, tier: Tier): Promise<CreatedKey> {
    const { record, secret, secretHash } = mintKey(name, tier, Date.now());
    await this.pool.query(
      'INSERT INTO api_keys (id, name, tier, prefix, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [record.id, record.name, record.tier, record.prefix, secretHash, record.createdAt],
    );
    return { record, secret };
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    const result = await this.pool.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at, id`,
    );
    return result.rows.map(toKeyRecord);
  }

  async revokeKey(id: string): Promise<boolean> {
    const result = await this.pool.query(
      'UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL',
      [Date.now(), id],
    );
    return result.rowCount === 1;
  }

  async authenticate(secret: string): Promise<ApiKeyRecord | null> {
    if (!looksLikeSecret(secret)) return null;
    const result = await this.pool.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL`,
      [hashSecret(secret)],
    );
    return result.rows.length === 0 ? null : toKeyRecord(result.rows[0]!);
  }

  async admit(start: RequestStart, limits: TierLimits, now?: number): Promise<Admission> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      return await inTransaction(client, async (): Promise<Admission> => {
        // A null key (--no-auth) maps to hashtext(''), which no real key id produces.
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
          ADMISSION_LOCK_CLASS,
          start.keyId ?? '',
        ]);
        // Read the clock only now that the lock is held, so started_at follows the order of admissions.
        const at = now ?? Date.now();
        const counts = await countUsage(client, start.keyId, limits, at);
        const decision = decideAdmission(counts, limits, start.promptTokens, at);
        if (!decision.allowed) return decision;
        const requestId = newRequestId();
        await client.query(
          `INSERT INTO requests (id, key_id, model, status, prompt_tokens, replica, started_at)
           VALUES ($1, $2, $3, 'in_progress', $4, $5, $6)`,
          [requestId, start.keyId, start.model, start.promptTokens, start.replica, at],
        );
        return { allowed: true, requestId, limits: decision.limits };
      });
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async limitState(keyId: string, limits: TierLimits, now: number = Date.now()): Promise<RateLimitState> {
    return limitStateFrom(await countUsage(this.pool, keyId, limits, now), limits, now);
  }

  async finish(
    requestId: string,
    outcome: RequestOutcome,
    prices: Prices,
    now: number = Date.now(),
  ): Promise<boolean> {
    const cachedTokens = outcome.cachedTokens ?? 0;
    const cost = costNanoUsd(outcome.promptTokens, outcome.completionTokens, prices, cachedTokens);
    const result = await this.pool.query(
      `UPDATE requests SET status = $1, prompt_tokens = $2, completion_tokens = $3, cached_tokens = $4,
         cost_nanousd = $5, latency_ms = $6, http_status = $7, finished_at = $8
       WHERE id = $9 AND status = 'in_progress'`,
      [
        outcome.status,
        outcome.promptTokens,
        outcome.completionTokens,
        cachedTokens,
        cost,
        outcome.latencyMs,
        outcome.httpStatus,
        now,
        requestId,
      ],
    );
    return result.rowCount === 1;
  }

  async recoverInterrupted(replica: string, now: number = Date.now()): Promise<number> {
    return this.interrupting(async (client) => {
      const result = await client.query(recoverSql(dollar), [now, replica]);
      return result.rowCount ?? 0;
    });
  }

  async heartbeat(replica: string, now: number = Date.now()): Promise<void> {
    await this.pool.query(heartbeatSql(dollar), [replica, now]);
  }

  async sweepSilentReplicas(leaseMs: number, now: number = Date.now()): Promise<number> {
    const cutoff = leaseCutoff(leaseMs, now);
    return this.interrupting(async (client) => {
      const result = await client.query(sweepRowsSql(dollar), [now, cutoff, cutoff]);
      await client.query(forgetSilentSql(dollar), [cutoff]);
      return result.rowCount ?? 0;
    });
  }

  async retireReplica(replica: string): Promise<void> {
    await this.pool.query(retireSql(dollar), [replica]);
  }

  async usage(filter: UsageFilter = {}): Promise<LedgerRow[]> {
    const { clause, params } = usageWhere(filter, dollar);
    let sql = `SELECT ${REQUEST_COLUMNS} FROM requests${clause} ORDER BY started_at DESC, id DESC`;
    if (filter.limit !== undefined) {
      params.push(filter.limit);
      sql += ` LIMIT $${params.length}`;
    }
    const result = await this.pool.query(sql, params);
    return result.rows.map(toLedgerRow);
  }

  async usageTotals(filter: Omit<UsageFilter, 'limit'> = {}): Promise<UsageTotals> {
    const { clause, params } = usageWhere(filter, dollar);
    const result = await this.pool.query<TotalsRow>(
      `SELECT ${USAGE_TOTALS_COLUMNS} FROM requests${clause}`,
      params,
    );
    return toUsageTotals(result.rows[0]!);
  }

  async close(): Promise<void> {
    if (!this.pool.ending) await this.pool.end();
  }

  /** Runs `body` in a transaction holding INTERRUPT_LOCK. */
  private async interrupting<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      return await inTransaction(client, async () => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [INTERRUPT_LOCK]);
        return body(client);
      });
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

/** PostgreSQL's n-th parameter. */
function dollar(n: number): string {
  return `$${n}`;
}

async function inTransaction<T>(client: pg.PoolClient, body: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await body();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // If ROLLBACK fails too, the caller destroys the connection; the original error is the one to report.
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The rows that limit this key now; only the windows some limit needs are queried. */
async function countUsage(
  db: Queryable,
  keyId: string | null,
  limits: TierLimits,
  now: number,
): Promise<UsageCounts> {
  // `key_id = NULL` matches nothing, so the no-auth ledger needs IS NULL (and takes no second parameter).
  // No upper bound on started_at: see limits.ts.
  const key = keyId === null ? 'key_id IS NULL' : 'key_id = $2';
  const keyParam = keyId === null ? [] : [keyId];
  let counts = EMPTY_COUNTS;
  if (needsMinuteCounts(limits)) {
    const result = await db.query<{ n: string; oldest: string | null; tokens: string }>(
      `SELECT COUNT(*) AS n, MIN(started_at) AS oldest,
         COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS tokens
       FROM requests WHERE ${key} AND started_at > $1`,
      [minuteWindowStart(now), ...keyParam],
    );
    const row = result.rows[0]!;
    counts = {
      ...counts,
      minuteRequests: toNumber(row.n),
      minuteTokens: toNumber(row.tokens),
      minuteOldestStart: row.oldest === null ? null : toNumber(row.oldest),
    };
  }
  if (needsMonthCounts(limits)) {
    const result = await db.query<{ tokens: string }>(
      `SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS tokens
       FROM requests WHERE ${key} AND started_at >= $1`,
      [monthStart(now), ...keyParam],
    );
    counts = { ...counts, monthTokens: toNumber(result.rows[0]!.tokens) };
  }
  return counts;
}
