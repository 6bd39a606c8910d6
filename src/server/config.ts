/** Everything an operator can set for `pixtral serve`, with the defaults of a safe public deployment. */
import { hostname } from 'node:os';
import { DEFAULT_MAX_CHOICES } from '../chat/completion-request.js';
import { DEFAULT_PRICES, type Prices, type Tier, type TierLimits } from '../store/types.js';
import type { RemoteImageOptions } from './remote-images.js';
import type { LeaseTiming } from './replica-lease.js';

export interface ServerConfig {
  /** The model name clients send and /v1/models lists. */
  readonly modelName: string;
  readonly modelAliases: readonly string[];
  /** false only with an explicit --no-auth (local use): requests are then served without a key. */
  readonly auth: boolean;
  readonly limits: Readonly<Record<Tier, TierLimits>>;
  readonly prices: Prices;
  readonly bodyLimitBytes: number;
  readonly images: RemoteImageOptions;
  /** Identifies this process's in-flight ledger rows, so a restart can close what a crash left open. */
  readonly replica: string;
  /** Heartbeat of this replica and lease after which any replica closes a silent one's rows (replica-lease.ts). */
  readonly replicaLease: LeaseTiming;
  /** Largest `n` (choices per request) accepted. */
  readonly maxChoices: number;
  /** How long a graceful shutdown lets in-flight requests finish before cancelling them. */
  readonly shutdownGraceMs: number;
  /** Serve the web playground at `/` (off with --no-playground). */
  readonly playground: boolean;
}

export const DEFAULT_LIMITS: Readonly<Record<Tier, TierLimits>> = {
  free: { requestsPerMinute: 20, tokensPerMinute: 50_000, monthlyTokens: 1_000_000 },
  paid: { requestsPerMinute: null, tokensPerMinute: null, monthlyTokens: null },
};

export const DEFAULT_REPLICA_LEASE: LeaseTiming = { heartbeatMs: 10_000, leaseMs: 60_000 };

/**
 * PIXTRAL_REPLICA_LEASE_MS shortens the lease (heartbeats at a sixth of it, as by default) for tests of crash
 * recovery, which cannot wait a minute. Deliberately not a flag: operators have no reason to change it.
 */
function replicaLease(env: NodeJS.ProcessEnv = process.env): LeaseTiming {
  const leaseMs = Number(env.PIXTRAL_REPLICA_LEASE_MS);
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 6) return DEFAULT_REPLICA_LEASE;
  return { heartbeatMs: Math.floor(leaseMs / 6), leaseMs };
}

export function defaultServerConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    modelName: 'pixtral-12b-2409',
    modelAliases: [],
    auth: true,
    limits: DEFAULT_LIMITS,
    prices: DEFAULT_PRICES,
    bodyLimitBytes: 32 * 1024 * 1024,
    images: { maxBytes: 10 * 1024 * 1024, timeoutMs: 10_000, allowPrivate: false },
    replica: `${hostname()}:${process.pid}`,
    replicaLease: replicaLease(),
    maxChoices: DEFAULT_MAX_CHOICES,
    shutdownGraceMs: 30_000,
    playground: true,
    ...overrides,
  };
}
