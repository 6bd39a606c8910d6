/**
 * Backends for the Store contract suite: each hands out a fresh, empty database per test (a new SQLite file,
 * or a new database in one shared PostgreSQL cluster) plus a raw SQL reader to inspect what was stored.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresStore, SqliteStore, openStore, type Dialect, type Store } from '../../src/store/index.js';
import { createDatabase, startPostgres } from './postgres.js';

export interface Harness {
  readonly dialect: Dialect;
  /** The SQLite file or PostgreSQL URL of this test's database. */
  readonly location: string;
  readonly store: Store;
  /** Another store on the same database (another process or replica); closed with the harness. */
  open(): Promise<Store>;
  raw(sql: string): Promise<Record<string, unknown>[]>;
  closeAll(): Promise<void>;
}

export interface Backend {
  /** A store on a new empty database, migrated unless `migrated` is false. */
  fresh(migrated: boolean): Promise<Harness>;
  stop(): Promise<void>;
}

function harness(
  dialect: Dialect,
  location: string,
  make: () => Store,
  raw: Harness['raw'],
  first: Store,
): Harness {
  const stores = [first];
  return {
    dialect,
    location,
    store: first,
    async open() {
      const store = make();
      stores.push(store);
      return store;
    },
    raw,
    async closeAll() {
      await Promise.all(stores.map((s) => s.close()));
    },
  };
}

export async function sqliteBackend(): Promise<Backend> {
  const dir = await mkdtemp(join(tmpdir(), 'pixtral-store-'));
  let n = 0;
  return {
    async fresh(migrated) {
      const path = join(dir, `db${++n}`, 'test.db');
      const make = () => new SqliteStore(path);
      const raw = async (sql: string) => {
        const db = new Database(path, { readonly: true });
        try {
          return db.prepare(sql).all() as Record<string, unknown>[];
        } finally {
          db.close();
        }
      };
      return harness('sqlite', path, make, raw, migrated ? await openStore(`sqlite:${path}`, dir) : make());
    },
    stop: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function postgresBackend(): Promise<Backend | { skip: string }> {
  const cluster = await startPostgres();
  if ('skip' in cluster) return cluster;
  let n = 0;
  return {
    async fresh(migrated) {
      const url = await createDatabase(cluster.url, `test_${++n}`);
      const make = () => new PostgresStore(url);
      const raw = async (sql: string) => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return (await client.query(sql)).rows as Record<string, unknown>[];
        } finally {
          await client.end();
        }
      };
      return harness('postgres', url, make, raw, migrated ? await openStore(url, '/nonexistent') : make());
    },
    stop: () => cluster.stop(),
  };
}
