/**
 * The Store on one SQLite file (better-sqlite3). Several processes may share the file: WAL lets readers run
 * beside the single writer, busy_timeout makes a blocked writer wait instead of failing, and every
 * read-then-write (migrate, admit) runs in a BEGIN IMMEDIATE transaction, which takes the write lock up front
 * so two admissions can never both count the same window and both insert.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { costNanoUsd } from './cost.js';
import { mintKey, hashSecret, looksLikeSecret, newRequestId } from './keys.js';
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
  toUsageTotals,
  USAGE_TOTALS_COLUMNS,
  usageWhere,
  type KeyRow,
  type RequestRow,
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

interface MinuteRow {
  n: number;
  oldest: number | null;
  tokens: number;
}

export class SqliteStore implements Store {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path);
    // busy_timeout first: switching to WAL on a fresh file can itself meet another process's lock.
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    // NORMAL is durable across application crashes in WAL mode; only an OS crash may lose the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
  }

  async migrate(): Promise<void> {
    const db = this.db;
    db.transaction(() => {
      db.exec(SCHEMA_MIGRATIONS_DDL.sqlite);
      const applied = db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[];
      for (const migration of pendingMigrations('sqlite', applied)) {
        for (const sql of migration.statements) db.exec(sql);
        db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
          migration.version,
          Date.now(),
        );
      }
    }).immediate();
  }

  async createKey(name: string, tier: Tier): Promise<CreatedKey> {
    const { record, secret, secretHash } = mintKey(name, tier, Date.now());
    this.stmt(
      'INSERT INTO api_keys (id, name, tier, prefix, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(record.id, record.name, record.tier, record.prefix, secretHash, record.createdAt);
    return { record, secret };
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    const rows = this.stmt(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at, id`).all();
    return (rows as KeyRow[]).map(toKeyRecord);
  }

  async revokeKey(id: string): Promise<boolean> {
    const result = this.stmt('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(
      Date.now(),
      id,
    );
    return result.changes === 1;
  }

  async authenticate(secret: string): Promise<ApiKeyRecord | null> {
    if (!looksLikeSecret(secret)) return null;
    const row = this.stmt(
      `SELECT ${KEY_COLUMNS} FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL`,
    ).get(hashSecret(secret)) as KeyRow | undefined;
    return row === undefined ? null : toKeyRecord(row);
  }

  async admit(start: RequestStart, limits: TierLimits, now?: number): Promise<Admission> {
    return this.db
      .transaction((): Admission => {
        // Read the clock only now that BEGIN IMMEDIATE holds the write lock (another process may have held it).
        const at = now ?? Date.now();
        const decision = decideAdmission(
          this.counts(start.keyId, limits, at),
          limits,
          start.promptTokens,
          at,
        );
        if (!decision.allowed) return decision;
        const requestId = newRequestId();
        this.stmt(
          `INSERT INTO requests (id, key_id, model, status, prompt_tokens, replica, started_at)
             VALUES (?, ?, ?, 'in_progress', ?, ?, ?)`,
        ).run(requestId, start.keyId, start.model, start.promptTokens, start.replica, at);
        return { allowed: true, requestId, limits: decision.limits };
      })
      .immediate();
  }

  async limitState(keyId: string, limits: TierLimits, now: number = Date.now()): Promise<RateLimitState> {
    return limitStateFrom(this.counts(keyId, limits, now), limits, now);
  }

  async finish(
    requestId: string,
    outcome: RequestOutcome,
    prices: Prices,
    now: number = Date.now(),
  ): Promise<boolean> {
    const cachedTokens = outcome.cachedTokens ?? 0;
    const cost = costNanoUsd(outcome.promptTokens, outcome.completionTokens, prices, cachedTokens);
    const result = this.stmt(
      `UPDATE requests SET status = ?, prompt_tokens = ?, completion_tokens = ?, cached_tokens = ?,
           cost_nanousd = ?, latency_ms = ?, http_status = ?, finished_at = ?
         WHERE id = ? AND status = 'in_progress'`,
    ).run(
      outcome.status,
      outcome.promptTokens,
      outcome.completionTokens,
      cachedTokens,
      cost,
      outcome.latencyMs,
      outcome.httpStatus,
      now,
      requestId,
    );
    return result.changes === 1;
  }

  async recoverInterrupted(replica: string, now: number = Date.now()): Promise<number> {
    return this.stmt(recoverSql(() => '?')).run(now, replica).changes;
  }

  async heartbeat(replica: string, now: number = Date.now()): Promise<void> {
    this.stmt(heartbeatSql(() => '?')).run(replica, now);
  }

  async sweepSilentReplicas(leaseMs: number, now: number = Date.now()): Promise<number> {
    const cutoff = leaseCutoff(leaseMs, now);
    return this.db
      .transaction(() => {
        const swept = this.stmt(sweepRowsSql(() => '?')).run(now, cutoff, cutoff).changes;
        this.stmt(forgetSilentSql(() => '?')).run(cutoff);
        return swept;
      })
      .immediate();
  }

  async retireReplica(replica: string): Promise<void> {
    this.stmt(retireSql(() => '?')).run(replica);
  }

  async usage(filter: UsageFilter = {}): Promise<LedgerRow[]> {
    const { clause, params } = usageWhere(filter, () => '?');
    let sql = `SELECT ${REQUEST_COLUMNS} FROM requests${clause} ORDER BY started_at DESC, id DESC`;
    if (filter.limit !== undefined) {
      sql += ' LIMIT ?';
      params.push(filter.limit);
    }
    return (this.stmt(sql).all(...params) as RequestRow[]).map(toLedgerRow);
  }

  async usageTotals(filter: Omit<UsageFilter, 'limit'> = {}): Promise<UsageTotals> {
    const { clause, params } = usageWhere(filter, () => '?');
    return toUsageTotals(
      this.stmt(`SELECT ${USAGE_TOTALS_COLUMNS} FROM requests${clause}`).get(...params) as TotalsRow,
    );
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** Prepared statements are cached: admission runs a few of them for every request. */
  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** The rows that limit this key now; only the windows some limit needs are queried (no upper bound: limits.ts). */
  private counts(keyId: string | null, limits: TierLimits, now: number): UsageCounts {
    const key = keyId === null ? 'key_id IS NULL' : 'key_id = @keyId';
    let counts = EMPTY_COUNTS;
    if (needsMinuteCounts(limits)) {
      const row = this.stmt(
        `SELECT COUNT(*) AS n, MIN(started_at) AS oldest,
             COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS tokens
           FROM requests WHERE ${key} AND started_at > @from`,
      ).get({ keyId, from: minuteWindowStart(now) }) as MinuteRow;
      counts = { ...counts, minuteRequests: row.n, minuteTokens: row.tokens, minuteOldestStart: row.oldest };
    }
    if (needsMonthCounts(limits)) {
      const tokens = this.stmt(
        `SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM requests
           WHERE ${key} AND started_at >= @from`,
      )
        .pluck()
        .get({ keyId, from: monthStart(now) }) as number;
      counts = { ...counts, monthTokens: tokens };
    }
    return counts;
  }
}
