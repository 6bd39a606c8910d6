/**
 * Picks and opens the store from a --database URL: nothing, `sqlite:PATH` or a plain path → SQLite (one
 * machine); `postgres://` or `postgresql://` → PostgreSQL (replicas). The schema is migrated before the store
 * is returned. Errors name the database and the problem, and never contain a password.
 */
import { join, resolve } from 'node:path';
import type { Store } from './types.js';

export const DEFAULT_SQLITE_FILE = 'pixtral.db';

export type StoreLocation =
  { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };

export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
}

/** Where `url` points, without touching it. */
export function parseStoreUrl(url: string | undefined, dataDir: string): StoreLocation {
  const spec = url?.trim() ?? '';
  if (spec === '') return { kind: 'sqlite', path: resolve(join(dataDir, DEFAULT_SQLITE_FILE)) };
  if (/^postgres(ql)?:\/\//i.test(spec)) return { kind: 'postgres', url: spec };
  if (/^sqlite:/i.test(spec)) {
    // Accept both sqlite:PATH and the sqlite://PATH spelling some tools use (sqlite:///abs → /abs).
    const path = spec.slice('sqlite:'.length).replace(/^\/\//, '');
    if (path === '') throw new StoreOpenError(`database URL ${spec} names no file`);
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(path) };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(spec);
  if (scheme) {
    throw new StoreOpenError(
      `unsupported database URL ${redactUrl(spec)}: use sqlite:PATH, a file path, or postgres://…`,
    );
  }
  return { kind: 'sqlite', path: resolve(spec) };
}

/** The URL with its password removed, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '';
    return parsed.toString();
  } catch {
    // Not parseable: drop anything between "scheme://user:" and "@" by hand.
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@]*@/i, '$1@');
  }
}

/** One readable line from an error; Node's connection errors may be an AggregateError with an empty message. */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return [...new Set(err.errors.map(describeError))].join('; ');
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (err.message !== '') return err.message;
    return typeof code === 'string' ? code : err.name;
  }
  return String(err);
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

export async function openStore(url: string | undefined, dataDir: string): Promise<Store> {
  const location = parseStoreUrl(url, dataDir);
  const label =
    location.kind === 'sqlite'
      ? `SQLite database ${location.path}`
      : `PostgreSQL database ${redactUrl(location.url)}`;
  let store: Store | undefined;
  try {
    store = location.kind === 'sqlite' ? await sqliteStore(location.path) : await postgresStore(location.url);
    await store.migrate();
    return store;
  } catch (err) {
    await store?.close().catch(() => {});
    let problem = describeError(err);
    // Belt and braces: a driver could echo the connection string back in its message.
    const password = location.kind === 'postgres' ? passwordOf(location.url) : '';
    if (password !== '') problem = problem.split(password).join('***');
    throw new StoreOpenError(`cannot open ${label}: ${problem}`, { cause: err });
  }
}

/**
 * The drivers load when a store is opened, not when this module is: better-sqlite3 is an optional dependency
 * (it compiles where no prebuilt binary fits), so an installation without it still runs models and the
 * library, and only opening a SQLite store says what is missing.
 */
async function sqliteStore(path: string): Promise<Store> {
  let module: typeof import('./sqlite-store.js');
  try {
    module = await import('./sqlite-store.js');
  } catch (err) {
    throw new StoreOpenError(
      `the SQLite driver (better-sqlite3) is not installed or did not build: ${describeError(err)}; ` +
        'npm install better-sqlite3, or use --db postgres://…',
      { cause: err },
    );
  }
  return new module.SqliteStore(path);
}

async function postgresStore(url: string): Promise<Store> {
  const { PostgresStore } = await import('./postgres-store.js');
  return new PostgresStore(url);
}
