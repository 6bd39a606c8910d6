/** The --db / --data-dir options shared by `serve`, `keys` and `usage`, and where data lives by default. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/types.js';

export const STORE_OPTIONS = {
  db: { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

/** $PIXTRAL_DATA_DIR, else ~/.pixtral. */
export function defaultDataDir(): string {
  return process.env.PIXTRAL_DATA_DIR || join(homedir(), '.pixtral');
}

export function storeLocation(values: { db?: string; 'data-dir'?: string }) {
  return { db: values.db ?? process.env.PIXTRAL_DB, dataDir: values['data-dir'] ?? defaultDataDir() };
}

export function openCliStore(values: { db?: string; 'data-dir'?: string }): Promise<Store> {
  const { db, dataDir } = storeLocation(values);
  return openStore(db, dataDir);
}
