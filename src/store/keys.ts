/**
 * Identifiers and secrets. A key's secret is shown once and only its SHA-256 hash is stored: the secret has
 * ~190 bits of entropy, so a fast unsalted hash is enough (nothing to brute-force) and lets `authenticate`
 * find the key by an indexed equality lookup instead of comparing against every row.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyRecord, Tier } from './types.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** The largest multiple of 62 that fits a byte: bytes at or above it are dropped so every digit is equally likely. */
const UNBIASED_LIMIT = 248;

export const SECRET_PREFIX = 'ptk_';
export const SECRET_RANDOM_LENGTH = 32;
/** How many leading characters of the secret are kept in the clear, to recognise a key in listings. */
export const PREFIX_LENGTH = 8;

/** `length` uniformly random base62 characters from the system CSPRNG. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    // Over-draw a little so one call usually suffices despite the rejected bytes.
    for (const byte of randomBytes(length + 8)) {
      if (byte < UNBIASED_LIMIT) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export function newKeySecret(): string {
  return SECRET_PREFIX + randomBase62(SECRET_RANDOM_LENGTH);
}

export function newKeyId(): string {
  return 'key_' + randomBase62(12);
}

export function newRequestId(): string {
  return 'req_' + randomBase62(24);
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function secretPrefix(secret: string): string {
  return secret.slice(0, PREFIX_LENGTH);
}

/** Cheap shape check so obviously malformed bearer tokens never reach the database. */
export function looksLikeSecret(secret: string): boolean {
  return (
    secret.length === SECRET_PREFIX.length + SECRET_RANDOM_LENGTH &&
    secret.startsWith(SECRET_PREFIX) &&
    /^[0-9A-Za-z]+$/.test(secret.slice(SECRET_PREFIX.length))
  );
}

export interface MintedKey {
  readonly record: ApiKeyRecord;
  readonly secret: string;
  readonly secretHash: string;
}

/** A new key, ready to insert: both stores store exactly `record` plus `secretHash`, never `secret`. */
export function mintKey(name: string, tier: Tier, now: number): MintedKey {
  const secret = newKeySecret();
  return {
    record: { id: newKeyId(), name, tier, prefix: secretPrefix(secret), createdAt: now, revokedAt: null },
    secret,
    secretHash: hashSecret(secret),
  };
}
