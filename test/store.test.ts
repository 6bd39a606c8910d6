/**
 * One contract suite for the Store, run against SQLite (a temp file) and PostgreSQL (a throwaway cluster).
 * Time is driven through the `now` parameters; T0 is mid-month so the month window never interferes by accident.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DEFAULT_PRICES,
  MIGRATIONS,
  costNanoUsd,
  hashSecret,
  monthStart,
  nextMonthStart,
  openStore,
  parseStoreUrl,
  redactUrl,
  type Admission,
  type Store,
  type TierLimits,
  type UsageFilter,
} from '../src/store/index.js';
import { admitInThreads } from './helpers/sqlite-threads.js';
import { postgresBackend, sqliteBackend, type Backend, type Harness } from './helpers/store-harness.js';

const T0 = Date.UTC(2025, 4, 15, 12, 0, 0);
const SEC = 1000;
const NONE: TierLimits = { requestsPerMinute: null, tokensPerMinute: null, monthlyTokens: null };
const limits = (l: Partial<TierLimits>): TierLimits => ({ ...NONE, ...l });
const outcome = (promptTokens: number, completionTokens: number) =>
  ({ status: 'completed', promptTokens, completionTokens, latencyMs: 42, httpStatus: 200 }) as const;

function requestId(a: Admission): string {
  assert.ok(a.allowed, `expected admission, got ${JSON.stringify(a)}`);
  return a.requestId;
}

/** Spins until the clock has moved on by a millisecond (so the next Date.now() differs from the last). */
function nextMillisecond(): void {
  const start = Date.now();
  while (Date.now() === start);
}

async function newKey(store: Store): Promise<string> {
  return (await store.createKey('test', 'free')).record.id;
}

function contractSuite(name: string, makeBackend: () => Promise<Backend | { skip: string }>): void {
  describe(name, () => {
    let backend: Backend | undefined;
    let skip: string | undefined;
    before(async () => {
      const made = await makeBackend();
      if ('skip' in made) skip = made.skip;
      else backend = made;
    });
    after(async () => backend?.stop());

    const it = (title: string, body: (h: Harness) => Promise<void>, migrated = true) =>
      test(title, async (t) => {
        if (skip !== undefined) return t.skip(skip);
        const h = await backend!.fresh(migrated);
        try {
          await body(h);
        } finally {
          await h.closeAll();
        }
      });
    const admit = (store: Store, keyId: string | null, promptTokens: number, l: TierLimits, now = T0) =>
      store.admit({ keyId, model: 'pixtral-12b', promptTokens, replica: 'r1' }, l, now);

    it(
      'migrate is idempotent, also from two stores at once',
      async (h) => {
        const other = await h.open();
        await Promise.all([h.store.migrate(), other.migrate()]);
        await h.store.migrate();
        const versions = await h.raw('SELECT version FROM schema_migrations ORDER BY version');
        assert.deepEqual(
          versions.map((r) => Number(r.version)),
          MIGRATIONS[h.dialect].map((m) => m.version),
        );
        assert.equal((await other.createKey('after', 'paid')).record.tier, 'paid');
      },
      false,
    );

    it('createKey returns a secret that authenticates; only its hash is stored', async (h) => {
      const { record, secret } = await h.store.createKey('alice', 'paid');
      assert.match(secret, /^ptk_[0-9A-Za-z]{32}$/);
      assert.match(record.id, /^key_[0-9A-Za-z]{12}$/);
      assert.equal(record.prefix, secret.slice(0, 8));
      assert.deepEqual(await h.store.authenticate(secret), record);
      assert.equal(
        await h.store.authenticate(secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a')),
        null,
      );
      assert.equal(await h.store.authenticate('garbage'), null);
      const rows = await h.raw('SELECT * FROM api_keys');
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.secret_hash, hashSecret(secret));
      for (const value of Object.values(rows[0]!)) assert.ok(!String(value).includes(secret.slice(4)));
    });

    it('listKeys and revokeKey; a revoked key no longer authenticates', async (h) => {
      const a = await h.store.createKey('a', 'free');
      const b = await h.store.createKey('b', 'paid');
      assert.deepEqual((await h.store.listKeys()).map((k) => k.id).sort(), [a.record.id, b.record.id].sort());
      assert.equal(await h.store.revokeKey(a.record.id), true);
      assert.equal(await h.store.revokeKey(a.record.id), false);
      assert.equal(await h.store.revokeKey('key_nonexistent'), false);
      assert.equal(await h.store.authenticate(a.secret), null);
      assert.equal((await h.store.authenticate(b.secret))?.id, b.record.id);
      const listed = new Map((await h.store.listKeys()).map((k) => [k.id, k]));
      assert.equal(typeof listed.get(a.record.id)?.revokedAt, 'number');
      assert.equal(listed.get(b.record.id)?.revokedAt, null);
    });

    it('admit records an in_progress row; finish bills the exact cost exactly once', async (h) => {
      const key = await newKey(h.store);
      const id = requestId(await admit(h.store, key, 1234, NONE));
      const [row] = await h.store.usage();
      assert.deepEqual(row, {
        ...{ requestId: id, keyId: key, model: 'pixtral-12b', status: 'in_progress', promptTokens: 1234 },
        ...{
          completionTokens: 0,
          cachedTokens: 0,
          costUsd: 0,
          latencyMs: null,
          httpStatus: null,
          replica: 'r1',
        },
        ...{ startedAt: T0, finishedAt: null },
      });
      assert.equal(await h.store.finish(id, outcome(1234, 567), DEFAULT_PRICES, T0 + 5 * SEC), true);
      // 1234 × $0.25/M + 567 × $1.25/M = 308 500 + 708 750 nano-dollars.
      const billed = {
        costUsd: 0.00101725,
        completionTokens: 567,
        status: 'completed',
        finishedAt: T0 + 5 * SEC,
      };
      assert.deepEqual((await h.store.usage())[0], { ...row, ...billed, latencyMs: 42, httpStatus: 200 });
      const twice = { ...outcome(9, 9), status: 'failed' } as const;
      assert.equal(await h.store.finish(id, twice, { inputPerMillion: 9, outputPerMillion: 9 }), false);
      assert.equal(await h.store.finish('req_unknown', twice, DEFAULT_PRICES), false);
      const raw = await h.raw('SELECT cost_nanousd, status FROM requests');
      assert.deepEqual([Number(raw[0]!.cost_nanousd), raw[0]!.status], [1_017_250, 'completed']);
    });

    it('records cached prompt tokens and bills them at the cached price (the input price unless set)', async (h) => {
      const key = await newKey(h.store);
      const prices = { inputPerMillion: 0.25, outputPerMillion: 1.25, cachedInputPerMillion: 0.05 };
      const a = requestId(await admit(h.store, key, 1000, NONE));
      const b = requestId(await admit(h.store, key, 1000, NONE, T0 + SEC));
      await h.store.finish(a, { ...outcome(1000, 100), cachedTokens: 800 }, prices, T0 + 2 * SEC);
      await h.store.finish(b, { ...outcome(1000, 100), cachedTokens: 800 }, DEFAULT_PRICES, T0 + 2 * SEC);
      const rows = await h.store.usage();
      const byId = new Map(rows.map((r) => [r.requestId, r]));
      // 200 × $0.25/M + 800 × $0.05/M + 100 × $1.25/M = 50 000 + 40 000 + 125 000 nano-dollars.
      assert.deepEqual([byId.get(a)!.cachedTokens, byId.get(a)!.costUsd], [800, 0.000215]);
      // Without a cached price: 1000 × $0.25/M + 100 × $1.25/M.
      assert.deepEqual([byId.get(b)!.cachedTokens, byId.get(b)!.costUsd], [800, 0.000375]);
      assert.equal((await h.store.usageTotals({ keyId: key })).cachedTokens, 1600);
    });

    it('concurrent admissions admit exactly the limit, also across two stores', async (h) => {
      const rpm5 = limits({ requestsPerMinute: 5 });
      const count = async (stores: Store[], key: string) => {
        const all = await Promise.all(
          Array.from({ length: 20 }, (_, i) => admit(stores[i % stores.length]!, key, 1, rpm5)),
        );
        for (const a of all)
          if (!a.allowed) assert.deepEqual([a.exceeded, a.retryAfterSeconds], ['requests', 60]);
        return all.filter((a) => a.allowed).length;
      };
      assert.equal(await count([h.store], await newKey(h.store)), 5);
      assert.equal(await count([h.store, await h.open()], await newKey(h.store)), 5);
    });

    it('a row started after `now` still counts (an admission whose clock was read before the lock)', async (h) => {
      // A replica that read its clock, then queued for the key's lock behind another replica's admission,
      // holds a `now` older than the row that admission committed: that row must still count.
      const key = await newKey(h.store);
      const tight = limits({ requestsPerMinute: 3, tokensPerMinute: 1000, monthlyTokens: 1000 });
      for (let i = 0; i < 3; i++) requestId(await admit(h.store, key, 100, tight, T0 + 5 * SEC));
      const stale = await admit(h.store, key, 100, tight, T0);
      assert.deepEqual(stale.allowed ? null : stale.exceeded, 'requests');
      assert.deepEqual(stale.limits.requests?.remaining, 0);
      const tokens = await newKey(h.store);
      requestId(await admit(h.store, tokens, 900, tight, T0 + 5 * SEC));
      const overTokens = await admit(h.store, tokens, 200, limits({ tokensPerMinute: 1000 }), T0);
      assert.deepEqual(overTokens.allowed ? null : overTokens.exceeded, 'tokens');
      const overMonth = await admit(h.store, tokens, 200, limits({ monthlyTokens: 1000 }), T0);
      assert.deepEqual(overMonth.allowed ? null : overMonth.exceeded, 'monthly');
    });

    it('admissions on the running clock from two stores at once admit exactly the limit', async (h) => {
      // No `now` passed: each store reads the clock itself, as the server does. The requests of a round arrive
      // over three milliseconds (like 12 clients at once), so an admission may read an older clock than one
      // that takes the key's lock before it; several rounds, because that order is up to the scheduler.
      const other = await h.open();
      const rpm3 = limits({ requestsPerMinute: 3 });
      for (let round = 0; round < 8; round++) {
        const key = await newKey(h.store);
        const pending: Promise<Admission>[] = [];
        for (let i = 0; i < 12; i++) {
          if (i % 4 === 0) nextMillisecond();
          const start = { keyId: key, model: 'pixtral-12b', promptTokens: 1, replica: `r${i % 2}` };
          pending.push((i % 2 === 0 ? h.store : other).admit(start, rpm3));
        }
        const allowed = (await Promise.all(pending)).filter((a) => a.allowed).length;
        assert.equal(allowed, 3, `round ${round}`);
      }
    });

    it('the request window slides: retryAfter counts down to when the oldest row leaves', async (h) => {
      const key = await newKey(h.store);
      const rpm2 = limits({ requestsPerMinute: 2 });
      requestId(await admit(h.store, key, 1, rpm2, T0));
      requestId(await admit(h.store, key, 1, rpm2, T0 + 10 * SEC));
      const rejected = await admit(h.store, key, 1, rpm2, T0 + 15.5 * SEC);
      assert.deepEqual(rejected.allowed ? null : [rejected.exceeded, rejected.retryAfterSeconds], [
        'requests',
        45,
      ]);
      assert.deepEqual(rejected.limits.requests, { limit: 2, remaining: 0, resetSeconds: 45 });
      const later = await admit(h.store, key, 1, rpm2, T0 + 60 * SEC);
      assert.deepEqual(later.limits.requests, { limit: 2, remaining: 0, resetSeconds: 10 });
    });

    it('tokens per minute: prompts are counted at admission, completions once finished', async (h) => {
      const key = await newKey(h.store);
      const tpm = limits({ tokensPerMinute: 1000 });
      const first = requestId(await admit(h.store, key, 600, tpm, T0));
      const over = await admit(h.store, key, 500, tpm, T0 + SEC);
      assert.deepEqual(over.allowed ? null : [over.exceeded, over.retryAfterSeconds], ['tokens', 59]);
      assert.equal(over.limits.tokens?.remaining, 400);
      requestId(await admit(h.store, key, 300, tpm, T0 + SEC));
      await h.store.finish(first, outcome(600, 100), DEFAULT_PRICES, T0 + 2 * SEC);
      assert.equal((await h.store.limitState(key, tpm, T0 + 3 * SEC)).tokens?.remaining, 0);
      assert.equal((await admit(h.store, key, 1, tpm, T0 + 3 * SEC)).allowed, false);
      // An empty window lets one oversized prompt through, which then blocks the window.
      const big = await newKey(h.store);
      assert.equal((await admit(h.store, big, 5000, tpm)).limits.tokens?.remaining, 0);
      assert.equal((await admit(h.store, big, 1, tpm)).allowed, false);
    });

    it('monthly quota: last month does not count; retryAfter runs to the next month', async (h) => {
      const key = await newKey(h.store);
      const quota = limits({ monthlyTokens: 1000 });
      const april = Date.UTC(2025, 3, 30, 23, 59, 30);
      const may1 = Date.UTC(2025, 4, 1, 0, 0, 10);
      requestId(await admit(h.store, key, 900, quota, april));
      requestId(await admit(h.store, key, 900, quota, may1));
      const over = await admit(h.store, key, 200, quota, T0);
      const toJune = Math.ceil((Date.UTC(2025, 5, 1) - T0) / SEC);
      assert.deepEqual(over.allowed ? null : [over.exceeded, over.retryAfterSeconds], ['monthly', toJune]);
      assert.deepEqual(over.limits.monthly, { limit: 1000, remaining: 100, resetSeconds: toJune });
      requestId(await admit(h.store, key, 100, quota, T0));
      const full = await admit(h.store, key, 0, quota, T0);
      assert.equal(full.allowed ? null : full.exceeded, 'monthly');
      requestId(await admit(h.store, key, 5000, quota, Date.UTC(2025, 5, 1)));
    });

    it('recoverInterrupted closes only that replica’s in_progress rows, unbilled', async (h) => {
      const key = await newKey(h.store);
      const start = (replica: string) =>
        h.store.admit({ keyId: key, model: 'm', promptTokens: 10, replica }, NONE, T0);
      const a1 = requestId(await start('A'));
      const a2 = requestId(await start('A'));
      const b1 = requestId(await start('B'));
      await h.store.finish(a1, outcome(10, 5), DEFAULT_PRICES, T0);
      assert.equal(await h.store.recoverInterrupted('A', T0 + SEC), 1);
      assert.equal(await h.store.recoverInterrupted('A', T0 + SEC), 0);
      const rows = new Map((await h.store.usage()).map((r) => [r.requestId, r]));
      const statuses = [a1, a2, b1].map((id) => rows.get(id)?.status);
      assert.deepEqual(statuses, ['completed', 'interrupted', 'in_progress']);
      const { costUsd, finishedAt, promptTokens } = rows.get(a2)!;
      assert.deepEqual(
        { costUsd, finishedAt, promptTokens },
        { costUsd: 0, finishedAt: T0 + SEC, promptTokens: 10 },
      );
      assert.equal(await h.store.finish(a2, outcome(10, 5), DEFAULT_PRICES), false);
      // Interrupted rows were still requests: they count against the request rate.
      const state = await h.store.limitState(key, limits({ requestsPerMinute: 10 }), T0 + 2 * SEC);
      assert.equal(state.requests?.remaining, 7);
    });

    it('sweepSilentReplicas interrupts, unbilled, the old rows of replicas silent for the lease', async (h) => {
      const key = await newKey(h.store);
      const lease = 60 * SEC;
      const start = (replica: string, at: number) =>
        h.store.admit({ keyId: key, model: 'm', promptTokens: 10, replica }, NONE, at);
      await h.store.heartbeat('alive', T0 - 90 * SEC);
      await h.store.heartbeat('alive', T0 - 5 * SEC);
      await h.store.heartbeat('dead', T0 - 61 * SEC);
      const aliveLong = requestId(await start('alive', T0 - 120 * SEC));
      const deadOld = requestId(await start('dead', T0 - 70 * SEC));
      const deadDone = requestId(await start('dead', T0 - 65 * SEC));
      await h.store.finish(deadDone, outcome(10, 5), DEFAULT_PRICES, T0 - 62 * SEC);
      // Started after its last heartbeat, less than a lease ago: the replica may only be late with the next one.
      const deadYoung = requestId(await start('dead', T0 - 30 * SEC));
      // Never heartbeated (rows from before heartbeats existed, or a replica that retired its heartbeat).
      const legacyOld = requestId(await start('legacy', T0 - 60 * SEC));
      const legacyYoung = requestId(await start('legacy', T0 - 59 * SEC));

      assert.equal(await h.store.sweepSilentReplicas(lease, T0), 2);
      const status = async () => {
        const rows = new Map((await h.store.usage()).map((r) => [r.requestId, r]));
        return (ids: string[]) => ids.map((id) => rows.get(id)!);
      };
      const [dead, legacy] = (await status())([deadOld, legacyOld]);
      for (const row of [dead!, legacy!]) {
        assert.deepEqual(
          [row.status, row.costUsd, row.promptTokens, row.completionTokens, row.finishedAt],
          ['interrupted', 0, 10, 0, T0],
        );
      }
      const untouched = (await status())([aliveLong, deadDone, deadYoung, legacyYoung]);
      assert.deepEqual(
        untouched.map((r) => r.status),
        ['in_progress', 'completed', 'in_progress', 'in_progress'],
      );
      assert.equal(await h.store.finish(deadOld, outcome(10, 5), DEFAULT_PRICES), false);
      // The silent replica's heartbeat is forgotten; the live one's stays.
      const replicas = await h.raw('SELECT id, heartbeat_at FROM replicas ORDER BY id');
      assert.deepEqual(
        replicas.map((r) => [r.id, Number(r.heartbeat_at)]),
        [['alive', T0 - 5 * SEC]],
      );
      assert.equal(await h.store.sweepSilentReplicas(lease, T0), 0);

      // Later the young rows have aged past the lease; 'alive' heartbeated in time, then retired (shut down).
      await h.store.heartbeat('alive', T0 + 40 * SEC);
      assert.equal(await h.store.sweepSilentReplicas(lease, T0 + 41 * SEC), 2);
      assert.deepEqual(
        (await status())([deadYoung, legacyYoung, aliveLong]).map((r) => r.status),
        ['interrupted', 'interrupted', 'in_progress'],
      );
      await h.store.retireReplica('alive');
      assert.deepEqual(await h.raw('SELECT id FROM replicas'), []);
      assert.equal(await h.store.sweepSilentReplicas(lease, T0 + 42 * SEC), 1);
      assert.equal((await status())([aliveLong])[0]!.status, 'interrupted');
    });

    it('replicas sweeping at once close each orphaned row exactly once', async (h) => {
      const key = await newKey(h.store);
      const stores = [h.store, await h.open(), await h.open()];
      for (let i = 0; i < 30; i++)
        requestId(
          await h.store.admit(
            { keyId: key, model: 'm', promptTokens: 1, replica: `gone-${i % 3}` },
            NONE,
            T0,
          ),
        );
      const sweeps = await Promise.all(
        stores.flatMap((s) => [
          s.sweepSilentReplicas(60 * SEC, T0 + 61 * SEC),
          s.recoverInterrupted('gone-0', T0 + 61 * SEC),
        ]),
      );
      assert.equal(
        sweeps.reduce((a, b) => a + b, 0),
        30,
      );
      const rows = await h.store.usage();
      assert.ok(rows.every((r) => r.status === 'interrupted' && r.finishedAt === T0 + 61 * SEC));
    });

    it('usage filters by key and since, newest first, with a limit', async (h) => {
      const [k1, k2] = [await newKey(h.store), await newKey(h.store)];
      for (let i = 0; i < 4; i++) await admit(h.store, i % 2 === 0 ? k1 : k2, i, NONE, T0 + i * SEC);
      const seconds = async (f: UsageFilter) => (await h.store.usage(f)).map((r) => (r.startedAt - T0) / SEC);
      assert.deepEqual(await seconds({}), [3, 2, 1, 0]);
      assert.deepEqual(await seconds({ keyId: k1 }), [2, 0]);
      assert.deepEqual(await seconds({ since: T0 + 2 * SEC }), [3, 2]);
      assert.deepEqual(await seconds({ keyId: k2, since: T0 + 2 * SEC }), [3]);
      assert.deepEqual(await seconds({ limit: 1 }), [3]);
    });

    it('usageTotals sums the rows usage selects (same filters), billed cost included', async (h) => {
      const [k1, k2] = [await newKey(h.store), await newKey(h.store)];
      for (let i = 0; i < 5; i++) {
        const id = requestId(await admit(h.store, i % 2 === 0 ? k1 : k2, 10 + i, NONE, T0 + i * SEC));
        if (i < 4)
          await h.store.finish(
            id,
            { ...outcome(10 + i, 3 * i), cachedTokens: i },
            DEFAULT_PRICES,
            T0 + i * SEC,
          );
      }
      for (const filter of [{}, { keyId: k1 }, { since: T0 + 2 * SEC }, { keyId: k2, since: T0 + 2 * SEC }]) {
        const rows = await h.store.usage(filter);
        const totals = await h.store.usageTotals(filter);
        assert.equal(totals.requests, rows.length);
        assert.equal(
          totals.promptTokens,
          rows.reduce((n, r) => n + r.promptTokens, 0),
        );
        assert.equal(
          totals.completionTokens,
          rows.reduce((n, r) => n + r.completionTokens, 0),
        );
        assert.equal(
          totals.cachedTokens,
          rows.reduce((n, r) => n + r.cachedTokens, 0),
        );
        assert.ok(Math.abs(totals.costUsd - rows.reduce((n, r) => n + r.costUsd, 0)) < 1e-12);
      }
      assert.ok((await h.store.usageTotals({})).costUsd > 0);
      assert.deepEqual(await h.store.usageTotals({ keyId: 'no-such-key' }), {
        requests: 0,
        promptTokens: 0,
        completionTokens: 0,
        cachedTokens: 0,
        costUsd: 0,
      });
    });

    it('limitState reports what is left without admitting; unlimited windows are null', async (h) => {
      const key = await newKey(h.store);
      const all = { requestsPerMinute: 10, tokensPerMinute: 1000, monthlyTokens: 5000 };
      await admit(h.store, key, 100, NONE, T0 - 30 * SEC);
      await admit(h.store, key, 200, NONE, T0 - 90 * SEC);
      const state = await h.store.limitState(key, all, T0);
      assert.deepEqual(state, {
        requests: { limit: 10, remaining: 9, resetSeconds: 30 },
        tokens: { limit: 1000, remaining: 900, resetSeconds: 30 },
        monthly: { limit: 5000, remaining: 4700, resetSeconds: Math.ceil((nextMonthStart(T0) - T0) / SEC) },
      });
      const unlimited = await h.store.limitState(key, NONE, T0);
      assert.deepEqual(unlimited, { requests: null, tokens: null, monthly: null });
      assert.equal((await h.store.usage()).length, 2);
    });

    it('a null key (--no-auth) is recorded and limited on its own', async (h) => {
      const key = await newKey(h.store);
      const rpm1 = limits({ requestsPerMinute: 1 });
      requestId(await admit(h.store, null, 1, rpm1));
      assert.equal((await admit(h.store, null, 1, rpm1)).allowed, false);
      requestId(await admit(h.store, key, 1, rpm1));
      assert.deepEqual((await h.store.usage()).map((r) => r.keyId).sort(), [key, null].sort());
    });

    if (name === 'SqliteStore') {
      it('threads with their own connections on one file admit exactly the limit', async (h) => {
        const race = { path: h.location, keyId: await newKey(h.store), now: T0, requestsPerMinute: 5 };
        assert.equal(await admitInThreads({ ...race, threads: 2, perThread: 25 }), 5);
      });
    }
  });
}

contractSuite('SqliteStore', sqliteBackend);
contractSuite('PostgresStore', postgresBackend);

describe('store helpers', () => {
  test('cost in nano-dollars, rounded once', () => {
    assert.equal(costNanoUsd(1, 0, { inputPerMillion: 1, outputPerMillion: 0 }), 1000);
    assert.equal(costNanoUsd(3, 0, { inputPerMillion: 0.1234567, outputPerMillion: 0 }), 370);
  });

  test('month boundaries are UTC calendar months', () => {
    assert.equal(monthStart(Date.UTC(2024, 11, 31, 23, 59)), Date.UTC(2024, 11, 1));
    assert.equal(nextMonthStart(Date.UTC(2024, 11, 31, 23, 59)), Date.UTC(2025, 0, 1));
  });

  test('database URLs are parsed and passwords never shown', async () => {
    assert.deepEqual(parseStoreUrl(undefined, '/data'), { kind: 'sqlite', path: '/data/pixtral.db' });
    assert.deepEqual(parseStoreUrl('sqlite:/x/y.db', '/data'), { kind: 'sqlite', path: '/x/y.db' });
    assert.equal(parseStoreUrl('postgresql://h/db', '/d').kind, 'postgres');
    assert.throws(() => parseStoreUrl('mysql://h/db', '/d'), /unsupported database URL/);
    assert.equal(redactUrl('postgres://u:hunter2@h:5432/db'), 'postgres://u@h:5432/db');
    await assert.rejects(openStore('postgres://u:hunter2@127.0.0.1:1/db', '/d'), (err: Error) => {
      assert.ok(err.message.startsWith('cannot open PostgreSQL database postgres://u@127.0.0.1:1/db: '));
      assert.match(err.message, /ECONNREFUSED/);
      return !err.message.includes('hunter2');
    });
  });
});
