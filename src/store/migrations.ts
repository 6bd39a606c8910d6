/**
 * The schema as an ordered list of migrations per dialect. A database records the versions it has applied in
 * `schema_migrations`; `migrate()` applies the missing ones in order, each in its own transaction. Never edit
 * a released migration: append a new one, so every database converges on the same schema.
 *
 * Times are integer milliseconds since the epoch and money is integer nano-dollars (BIGINT on PostgreSQL; a
 * SQLite INTEGER is already 64-bit). The ledger's hot query — "rows of this key started since T" — is served
 * by the (key_id, started_at) index; crash recovery — "this replica's in_progress rows" — by (status, replica).
 * `replicas` holds each live server's last heartbeat, so any replica can close the rows of one that died.
 */

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly statements: readonly string[];
}

export type Dialect = 'sqlite' | 'postgres';

export const SCHEMA_MIGRATIONS_DDL: Record<Dialect, string> = {
  sqlite:
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
  postgres:
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
};

const STATUSES = "('in_progress', 'completed', 'cancelled', 'failed', 'interrupted')";

const SQLITE: readonly Migration[] = [
  {
    version: 1,
    description: 'api keys and the request ledger',
    statements: [
      `CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tier TEXT NOT NULL CHECK (tier IN ('free', 'paid')),
        prefix TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT`,
      `CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        key_id TEXT REFERENCES api_keys (id),
        model TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ${STATUSES}),
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        cost_nanousd INTEGER NOT NULL DEFAULT 0,
        latency_ms INTEGER,
        http_status INTEGER,
        replica TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER
      ) STRICT`,
      'CREATE INDEX requests_key_started ON requests (key_id, started_at)',
      'CREATE INDEX requests_status_replica ON requests (status, replica)',
    ],
  },
  {
    version: 2,
    description: 'replica heartbeats',
    statements: ['CREATE TABLE replicas (id TEXT PRIMARY KEY, heartbeat_at INTEGER NOT NULL) STRICT'],
  },
  {
    version: 3,
    description: 'prompt tokens served from the prefix cache',
    statements: ['ALTER TABLE requests ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0'],
  },
];

const POSTGRES: readonly Migration[] = [
  {
    version: 1,
    description: 'api keys and the request ledger',
    statements: [
      `CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tier TEXT NOT NULL CHECK (tier IN ('free', 'paid')),
        prefix TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
      )`,
      `CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        key_id TEXT REFERENCES api_keys (id),
        model TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ${STATUSES}),
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        cost_nanousd BIGINT NOT NULL DEFAULT 0,
        latency_ms INTEGER,
        http_status INTEGER,
        replica TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        finished_at BIGINT
      )`,
      'CREATE INDEX requests_key_started ON requests (key_id, started_at)',
      'CREATE INDEX requests_status_replica ON requests (status, replica)',
    ],
  },
  {
    version: 2,
    description: 'replica heartbeats',
    statements: ['CREATE TABLE replicas (id TEXT PRIMARY KEY, heartbeat_at BIGINT NOT NULL)'],
  },
  {
    version: 3,
    description: 'prompt tokens served from the prefix cache',
    statements: ['ALTER TABLE requests ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0'],
  },
];

export const MIGRATIONS: Record<Dialect, readonly Migration[]> = { sqlite: SQLITE, postgres: POSTGRES };

/** The migrations a database that has applied `applied` still needs, in order. */
export function pendingMigrations(dialect: Dialect, applied: Iterable<number>): Migration[] {
  const done = new Set(applied);
  return MIGRATIONS[dialect].filter((m) => !done.has(m.version));
}
