/**
 * The usage ledger of a running server stays consistent under concurrent requests and client disconnects, on
 * SQLite and on PostgreSQL: one row per request, each closed exactly once and billed exactly for the tokens it
 * reports, and the usage a client receives is what its row bills. (Crashes and shutdown: server-ledger-crash.)
 */
import assert from 'node:assert/strict';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/types.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import {
  ChatStream,
  assertLedger,
  chatBody,
  expectedNanoUsd,
  completionUsage,
  forEachStore,
  postChat,
  waitForLedger,
  type FreshDb,
  type Usage,
} from './helpers/ledger.js';

async function serverOn(db: FreshDb): Promise<TestServer> {
  const server = await startTestServer({}, db.db === undefined ? {} : { db: db.db });
  db.defer(() => server.stop());
  return server;
}

const pairs = (usages: readonly Usage[]) => usages.map((u) => `${u.prompt}+${u.completion}`).sort();

/** Waits until the scheduler has decoded `tokens` more tokens than `from` (generation is under way). */
async function decoded(server: TestServer, from: number, tokens: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (server.engine.stats().decodedTokens < from + tokens) {
    assert.ok(Date.now() < deadline, 'generation never started');
    await new Promise((r) => setTimeout(r, 10));
  }
}

forEachStore('server ledger', (it) => {
  it('concurrent requests: one completed row each, billed exactly the usage returned', async (db) => {
    const server = await serverOn(db);
    const key = await server.key('paid');
    // Mixed shapes: streaming or not, n = 1 or 2, greedy or seeded sampling, prompts and lengths all differ.
    const requests = Array.from({ length: 10 }, (_, i) => ({
      stream: i % 2 === 0,
      n: i % 3 === 0 ? 2 : 1,
      body: chatBody(`Request ${i}:${' more'.repeat(i)}`, {
        max_tokens: 3 + i,
        ...(i % 4 === 1 && { temperature: 1, random_seed: 100 + i }),
      }),
    }));
    const usages = await Promise.all(
      requests.map(async ({ stream, n, body }): Promise<Usage> => {
        const response = await postChat(server.url, { ...body, stream, n }, { key });
        if (stream) {
          const read = await new ChatStream(response).readAll();
          assert.deepEqual([read.done, read.errors, read.choices.size], [true, [], n]);
          return read.usage!;
        }
        const { choices, ...usage } = await completionUsage(response);
        assert.equal(choices, n);
        return usage;
      }),
    );
    for (const [i, usage] of usages.entries()) {
      const { n, body } = requests[i]!;
      assert.ok(usage.completion > 0 && usage.completion <= n * (body.max_tokens as number), `request ${i}`);
    }

    const { decodeSteps, decodedTokens } = server.engine.stats();
    assert.ok(decodedTokens > decodeSteps, 'the requests never decoded in one batch: not concurrent');

    const rows = await assertLedger(server.store);
    assert.equal(rows.length, requests.length);
    for (const row of rows) {
      assert.deepEqual([row.status, row.httpStatus], ['completed', 200]);
      assert.equal(Math.round(row.costUsd * 1e9), expectedNanoUsd(row.promptTokens, row.completionTokens));
    }
    const billed = rows.map((r) => ({ prompt: r.promptTokens, completion: r.completionTokens }));
    assert.deepEqual(pairs(billed), pairs(usages));
  });

  it('a client that disconnects mid-stream is billed for what was generated; the server goes on', async (db) => {
    const server = await serverOn(db);
    const key = await server.key('paid');
    const abort = new AbortController();
    const response = await postChat(
      server.url,
      chatBody('Tell me a long story.', { max_tokens: 400, stream: true }),
      {
        signal: abort.signal,
        key,
      },
    );
    const stream = new ChatStream(response);
    assert.ok(await stream.readContent(3), 'the stream ended before 3 chunks');
    assert.equal(stream.done, false);
    abort.abort();

    const [row] = await waitForLedger(server.store, (rows) => rows[0]?.status !== 'in_progress');
    assert.equal(row!.status, 'cancelled');
    assert.equal(row!.httpStatus, 499);
    assert.ok(row!.completionTokens >= 3 && row!.completionTokens < 400, `${row!.completionTokens} tokens`);
    await assertLedger(server.store);

    const usage = await completionUsage(
      await postChat(server.url, chatBody('Still there?', { max_tokens: 5 }), { key }),
    );
    const rows = await assertLedger(server.store);
    assert.equal(rows.length, 2);
    const completed = rows.find((r) => r.status === 'completed')!;
    assert.deepEqual([completed.promptTokens, completed.completionTokens], [usage.prompt, usage.completion]);
    assert.equal(server.engine.stats().running, 0);
  });

  it('a client that disconnects from a non-streaming request: its row is closed, not left open', async (db) => {
    const server = await serverOn(db);
    const key = await server.key('paid');
    const abort = new AbortController();
    const before = server.engine.stats().decodedTokens;
    const request = postChat(server.url, chatBody('Tell me a long story.', { max_tokens: 400 }), {
      signal: abort.signal,
      key,
    });
    await decoded(server, before, 5);
    abort.abort();
    await assert.rejects(request, { name: 'AbortError' });

    const [row] = await waitForLedger(server.store, (rows) => rows[0]?.status !== 'in_progress');
    assert.equal(row!.status, 'cancelled');
    assert.ok(row!.completionTokens >= 5 && row!.completionTokens < 400, `${row!.completionTokens} tokens`);
    await assertLedger(server.store);
    await completionUsage(await postChat(server.url, chatBody('Still there?', { max_tokens: 5 }), { key }));
    assert.equal((await assertLedger(server.store)).length, 2);
  });

  it('shutdown past the grace period fails the in-flight stream and closes its row', async (db) => {
    const server = await startTestServer(
      { auth: false, shutdownGraceMs: 200 },
      db.db === undefined ? {} : { db: db.db },
    );
    db.defer(() => server.stop());
    const body = chatBody('Tell me everything.', { max_tokens: 2000, stream: true });
    const stream = new ChatStream(await postChat(server.url, body));
    assert.ok(await stream.readContent(3), 'the stream ended before 3 chunks');
    const closed = server.close();
    await stream.readAll();
    await closed;
    assert.equal(stream.errors.length, 1, 'the client is told why the stream stopped');
    assert.ok(stream.contentChunks < 2000);

    const store = await openStore(db.db, server.dataDir);
    db.defer(() => store.close());
    const [row, ...rest] = await assertLedger(store);
    assert.equal(rest.length, 0);
    // Closed and billed exactly for the tokens it records (whether a failure on our side bills the tokens
    // generated before it is the route's policy; it is not pinned here).
    assert.deepEqual([row!.status, row!.httpStatus], ['failed', 503]);
    assert.ok(row!.completionTokens < 2000, `${row!.completionTokens} tokens`);
  });

  // The handler watches for the client to go away from the first moment, so a disconnect while the prompt is
  // prepared or admitted cancels the work: nothing is generated for nobody. Admission is held until it has gone.
  it('a client gone during admission is not generated for, and its row is cancelled unbilled', async (db) => {
    let admitting!: () => void;
    const admitCalled = new Promise<void>((resolve) => (admitting = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inner = await openStore(db.db, db.dataDir);
    const store = new Proxy(inner, {
      get(target, name, receiver) {
        if (name === 'admit')
          return async (...args: Parameters<Store['admit']>) => {
            admitting();
            await gate;
            return target.admit(...args);
          };
        const value: unknown = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const server = await startTestServer({ auth: false }, { store });
    db.defer(() => server.stop());
    const abort = new AbortController();
    const request = postChat(server.url, chatBody('Tell me a long story.', { max_tokens: 200 }), {
      signal: abort.signal,
    });
    await admitCalled;
    abort.abort();
    await assert.rejects(request, { name: 'AbortError' });
    await new Promise((r) => setTimeout(r, 200)); // the server sees the connection close
    release();

    const [row] = await waitForLedger(
      store,
      (rows) => rows.length === 1 && rows[0]!.status !== 'in_progress',
      60_000,
    );
    await assertLedger(store);
    assert.deepEqual(
      { status: row!.status, generatedForNobody: row!.completionTokens === 200 },
      { status: 'cancelled', generatedForNobody: false },
    );
  });
});
