/**
 * The server's replica lease in process, on SQLite with a shortened lease: it heartbeats while running, sweeps
 * the rows of silent replicas at start and on every beat, survives a failing database, and retires its
 * heartbeat on graceful shutdown. (The crash across processes is in server-ledger-crash.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { ReplicaLease } from '../src/server/replica-lease.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { Store, TierLimits } from '../src/store/types.js';
import { startTestServer } from './helpers/server.js';

const UNLIMITED: TierLimits = { requestsPerMinute: null, tokensPerMinute: null, monthlyTokens: null };
const TIMING = { heartbeatMs: 50, leaseMs: 300 };

let dir: string;
let n = 0;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'pixtral-lease-'))));
after(() => rm(dir, { recursive: true, force: true }));

async function freshStore(): Promise<{ path: string; store: SqliteStore }> {
  const path = join(dir, `lease${++n}.db`);
  const store = new SqliteStore(path);
  await store.migrate();
  return { path, store };
}

function heartbeats(path: string): Map<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT id, heartbeat_at FROM replicas').all() as {
      id: string;
      heartbeat_at: number;
    }[];
    return new Map(rows.map((r) => [r.id, r.heartbeat_at]));
  } finally {
    db.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a server heartbeats, sweeps a dead replica’s rows at start, and retires its heartbeat on close', async () => {
  const { path, store } = await freshStore();
  const ghost = await store.admit(
    { keyId: null, model: 'm', promptTokens: 3, replica: 'ghost' },
    UNLIMITED,
    Date.now() - 2 * TIMING.leaseMs,
  );
  assert.ok(ghost.allowed);
  await store.close();

  const server = await startTestServer(
    { replica: 'lease-test', replicaLease: TIMING },
    { db: `sqlite:${path}` },
  );
  try {
    // The first beat ran before startServer returned.
    const [row] = await server.store.usage();
    assert.deepEqual([row!.requestId, row!.status, row!.costUsd], [ghost.requestId, 'interrupted', 0]);
    const first = heartbeats(path).get('lease-test');
    assert.ok(first !== undefined, 'no heartbeat at start');
    await sleep(4 * TIMING.heartbeatMs);
    assert.ok(heartbeats(path).get('lease-test')! > first, 'the heartbeat did not advance');
  } finally {
    await server.stop();
  }
  assert.deepEqual([...heartbeats(path).keys()], []);
});

test('a failing beat is logged and the next one goes on; a lease needs at least two beats', async () => {
  const { path, store } = await freshStore();
  const warnings: string[] = [];
  let failures = 1;
  const flaky: Store = Object.create(store, {
    heartbeat: {
      value: async (replica: string) => {
        if (failures-- > 0) throw new Error('database unreachable');
        return store.heartbeat(replica);
      },
    },
  });
  const lease = new ReplicaLease(flaky, 'flaky', TIMING, {
    warn: (_details, message) => warnings.push(message),
  });
  try {
    await lease.start();
    assert.deepEqual(warnings, ['replica heartbeat failed']);
    assert.equal(heartbeats(path).has('flaky'), false);
    await sleep(4 * TIMING.heartbeatMs);
    assert.equal(heartbeats(path).has('flaky'), true);
  } finally {
    await lease.stop();
    await store.close();
  }
  assert.throws(
    () => new ReplicaLease(store, 'r', { heartbeatMs: 40, leaseMs: 60 }, { warn() {} }),
    RangeError,
  );
});
