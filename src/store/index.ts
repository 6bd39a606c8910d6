/** The persistent store: API keys, the usage ledger, rate limits and quotas (SQLite or PostgreSQL). */
export * from './types.js';
export { costNanoUsd, nanoToUsd } from './cost.js';
export { hashSecret, looksLikeSecret, newKeyId, newKeySecret, newRequestId } from './keys.js';
export {
  MINUTE_MS,
  decideAdmission,
  limitStateFrom,
  monthStart,
  nextMonthStart,
  type AdmissionDecision,
  type UsageCounts,
} from './limits.js';
export { MIGRATIONS, type Dialect, type Migration } from './migrations.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres-store.js';
export { SqliteStore } from './sqlite-store.js';
export {
  DEFAULT_SQLITE_FILE,
  StoreOpenError,
  describeError,
  openStore,
  parseStoreUrl,
  redactUrl,
  type StoreLocation,
} from './open-store.js';
