/**
 * The usage ledger across crashes and shutdowns of the real `pixtral serve` process, on SQLite and PostgreSQL:
 * a SIGKILL leaves the in-flight row in progress, the restart of that replica marks it interrupted (unbilled)
 * without touching finished rows or other replicas' rows; without --replica (a new id on every start) the
 * restarted server does so once the dead one's lease has run out; and SIGTERM lets an in-flight stream finish
 * and bill.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { hostname } from 'node:os';
import { DEFAULT_PRICES, type TierLimits } from '../src/store/types.js';
import { pixtral } from './helpers/cli.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import {
  ChatStream,
  assertLedger,
  chatBody,
  completionUsage,
  forEachStore,
  killServe,
  postChat,
  postChatWithAgent,
  spawnServe,
  untilStdout,
  waitForLedger,
  type FreshDb,
  type ServeProcess,
} from './helpers/ledger.js';

const REPLICA = 'test-replica';
const UNLIMITED: TierLimits = { requestsPerMinute: null, tokensPerMinute: null, monthlyTokens: null };

/** A short lease (the default is a minute) through the server's hidden test setting. */
const LEASE_MS = 1500;

async function serve(db: FreshDb, ...extra: string[]): Promise<ServeProcess> {
  return serveAs(db, ['--replica', REPLICA, ...extra]);
}

async function serveAs(
  db: FreshDb,
  extra: readonly string[],
  env: Record<string, string> = {},
): Promise<ServeProcess> {
  const modelDir = fixturePath(loadGoldens().model.consolidated);
  const args = [
    '--model',
    modelDir,
    '--model-name',
    'pixtral',
    '--log-level',
    'warn',
    ...db.cliArgs,
    ...extra,
  ];
  const server = await spawnServe(args, env);
  db.defer(() => killServe(server));
  return server;
}

async function createPaidKey(db: FreshDb, name: string): Promise<{ id: string; secret: string }> {
  const created = pixtral(['keys', 'create', '--name', name, '--tier', 'paid', '--json', ...db.cliArgs]);
  assert.equal(created.status, 0, created.stderr);
  return JSON.parse(created.stdout) as { id: string; secret: string };
}

forEachStore('server ledger across crashes', (it) => {
  it('SIGKILL leaves the row in progress; the restart interrupts it, unbilled, and only it', async (db) => {
    const { id: keyId, secret: key } = await createPaidKey(db, 'crash');
    const store = await db.open();
    // Another replica's request in flight on the same database: no restart of ours may touch it.
    const other = await store.admit({ keyId, model: 'm', promptTokens: 7, replica: 'other' }, UNLIMITED);
    assert.ok(other.allowed);

    const first = await serve(db);
    const done = await completionUsage(
      await postChat(first.url, chatBody('Hello!', { max_tokens: 6 }), { key }),
    );
    const long = new ChatStream(
      await postChat(first.url, chatBody('Tell me everything.', { max_tokens: 2000, stream: true }), { key }),
    );
    assert.ok(await long.readContent(3), 'the long stream ended before 3 chunks');
    first.child.kill('SIGKILL');
    assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' });
    await assert.rejects(long.readAll(), 'the stream was cut, not finished');
    assert.equal(long.done, false);
    assert.ok(long.contentChunks < 2000);

    const beforeRestart = await store.usage();
    assert.equal(beforeRestart.length, 3);
    const completed = beforeRestart.find((r) => r.status === 'completed')!;
    assert.deepEqual(
      [completed.keyId, completed.replica, completed.promptTokens, completed.completionTokens],
      [keyId, REPLICA, done.prompt, done.completion],
    );
    const killed = beforeRestart.find((r) => r.status === 'in_progress' && r.replica === REPLICA)!;
    assert.ok(killed, 'the killed request has no in-progress row');
    await assertLedger(store, [killed.requestId, other.requestId]);

    const second = await serve(db);
    assert.match(await untilStdout(second, /"recovered":1\b/), /"recovered":1\b/);
    const afterRestart = await assertLedger(store, [other.requestId]);
    const interrupted = afterRestart.find((r) => r.requestId === killed.requestId)!;
    assert.deepEqual(
      { ...interrupted, finishedAt: null },
      { ...killed, status: 'interrupted', costUsd: 0, finishedAt: null },
    );
    assert.ok(interrupted.finishedAt !== null && interrupted.finishedAt >= killed.startedAt);
    assert.deepEqual(
      afterRestart.find((r) => r.requestId === completed.requestId),
      completed,
      'the completed row changed',
    );
    // A late close of the interrupted row (a zombie process) must not bill it.
    const late = {
      status: 'completed',
      promptTokens: 1,
      completionTokens: 1,
      latencyMs: 1,
      httpStatus: 200,
    } as const;
    assert.equal(await store.finish(killed.requestId, late, DEFAULT_PRICES), false);

    const again = await completionUsage(
      await postChat(second.url, chatBody('Hello again!', { max_tokens: 4 }), { key }),
    );
    second.child.kill('SIGTERM');
    assert.deepEqual(await second.exited, { code: 0, signal: null });
    const final = await assertLedger(store, [other.requestId]);
    assert.equal(final.length, 4);
    const billed = final
      .filter((r) => r.status === 'completed')
      .map((r) => [r.promptTokens, r.completionTokens]);
    assert.deepEqual(
      billed.sort(),
      [
        [done.prompt, done.completion],
        [again.prompt, again.completion],
      ].sort(),
    );
    assert.deepEqual(
      final.find((r) => r.requestId === interrupted.requestId),
      interrupted,
      'the interrupted row changed',
    );
  });

  it('SIGKILL without --replica: the restarted server (a new id) interrupts the row once the lease ran out', async (db) => {
    const { id: keyId, secret: key } = await createPaidKey(db, 'lease');
    const store = await db.open();
    // A live replica with its own heartbeat: no sweep may touch its in-flight row, however old it gets.
    const live = await store.admit({ keyId, model: 'm', promptTokens: 7, replica: 'live' }, UNLIMITED);
    assert.ok(live.allowed);
    await store.heartbeat('live');
    const beat = setInterval(() => void store.heartbeat('live'), LEASE_MS / 6);
    db.defer(() => clearInterval(beat));
    const env = { PIXTRAL_REPLICA_LEASE_MS: String(LEASE_MS) };

    const first = await serveAs(db, [], env);
    const long = new ChatStream(
      await postChat(first.url, chatBody('Tell me everything.', { max_tokens: 2000, stream: true }), { key }),
    );
    assert.ok(await long.readContent(3), 'the long stream ended before 3 chunks');
    first.child.kill('SIGKILL');
    assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' });
    await assert.rejects(long.readAll(), 'the stream was cut, not finished');
    const killed = (await store.usage()).find((r) => r.replica !== 'live')!;
    assert.deepEqual(
      [killed.status, killed.replica],
      ['in_progress', `${hostname()}:${first.child.pid}`],
      'the killed request has no in-progress row under the default replica id',
    );

    const second = await serveAs(db, [], env);
    const rows = await waitForLedger(
      store,
      (now) => now.find((r) => r.requestId === killed.requestId)?.status !== 'in_progress',
    );
    const interrupted = rows.find((r) => r.requestId === killed.requestId)!;
    assert.deepEqual(
      { ...interrupted, finishedAt: null },
      { ...killed, status: 'interrupted', costUsd: 0, finishedAt: null },
    );
    assert.ok(interrupted.finishedAt! - killed.startedAt >= LEASE_MS, 'interrupted before the lease ran out');
    assert.match(await untilStdout(second, /"swept":1\b/), /"swept":1\b/);
    await assertLedger(store, [live.requestId]);
  });

  it('SIGTERM lets the in-flight stream finish and bill it, then exits 0 at once', async (db) => {
    const server = await serve(db, '--no-auth');
    // A keep-alive client (like the SDKs' agents) keeps its connection after the stream: it must not hold exit.
    const agent = new Agent({ keepAlive: true });
    db.defer(() => agent.destroy());
    const body = chatBody('Tell me a story.', { max_tokens: 150, stream: true });
    const stream = new ChatStream(await postChatWithAgent(server.url, body, agent));
    assert.ok(await stream.readContent(3), 'the stream ended before 3 chunks');
    const beforeSignal = stream.contentChunks;
    server.child.kill('SIGTERM');
    await stream.readAll();
    assert.deepEqual([stream.done, stream.errors], [true, []]);
    assert.ok(stream.contentChunks > beforeSignal + 10, 'the stream did not go on after SIGTERM');
    const late = new Promise((done) =>
      setTimeout(() => done('still running 10 s after its last request'), 10_000).unref(),
    );
    assert.deepEqual(await Promise.race([server.exited, late]), { code: 0, signal: null });
    assert.match(server.stderr(), /shutting down/);

    const store = await db.open();
    const [row, ...rest] = await assertLedger(store);
    assert.equal(rest.length, 0);
    assert.deepEqual(
      [row!.status, row!.httpStatus, row!.keyId, row!.replica],
      ['completed', 200, null, REPLICA],
    );
    assert.deepEqual(
      [row!.promptTokens, row!.completionTokens],
      [stream.usage!.prompt, stream.usage!.completion],
    );
  });
});
