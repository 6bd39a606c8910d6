/**
 * Shared pieces of the ledger-consistency suites: one suite body registered for SQLite and for PostgreSQL (a
 * fresh empty database per test; visibly skipped when PostgreSQL cannot start), the invariants every ledger
 * row must satisfy, chat requests and SSE reading over fetch, and the real `pixtral serve` CLI as a child process.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { readSse } from '../../src/server/sse-reader.js';
import { openStore } from '../../src/store/open-store.js';
import type { LedgerRow, Store } from '../../src/store/types.js';
import { createDatabase, startPostgres, type TestPostgres } from './postgres.js';

export type StoreKind = 'sqlite' | 'postgres';

/** A fresh empty database for one test. */
export interface FreshDb {
  readonly kind: StoreKind;
  /** The PostgreSQL URL; undefined for SQLite (the default file in `dataDir`). */
  readonly db: string | undefined;
  /** A temp dir, removed after the test: the SQLite data dir of CLI servers. */
  readonly dataDir: string;
  /** The CLI's store options for this database. */
  readonly cliArgs: readonly string[];
  /** A store of our own on this database (closed after the test), to inspect and seed the ledger. */
  open(): Promise<Store>;
  /** Runs at the end of the test, before the database goes away (servers, child processes). */
  defer(cleanUp: () => Promise<unknown> | unknown): void;
}

/** Registers `suite` once per store kind; `it` gives each test its own database. */
export function forEachStore(
  title: string,
  suite: (it: (name: string, body: (db: FreshDb) => Promise<void>) => void, kind: StoreKind) => void,
): void {
  for (const kind of ['sqlite', 'postgres'] as const) {
    describe(`${title} (${kind})`, () => {
      let cluster: TestPostgres | undefined;
      let skip: string | undefined;
      let databases = 0;
      before(async () => {
        if (kind !== 'postgres') return;
        const started = await startPostgres();
        if ('skip' in started) skip = started.skip;
        else cluster = started;
      });
      after(async () => cluster?.stop());
      suite((name, body) => {
        test(name, { timeout: 180_000 }, async (t) => {
          if (skip !== undefined) return t.skip(skip);
          const db = cluster ? await createDatabase(cluster.url, `ledger_${++databases}`) : undefined;
          const dataDir = await mkdtemp(join(tmpdir(), 'pixtral-ledger-'));
          const cleanUps: (() => Promise<unknown> | unknown)[] = [];
          const fresh: FreshDb = {
            kind,
            db,
            dataDir,
            cliArgs: ['--data-dir', dataDir, ...(db === undefined ? [] : ['--db', db])],
            async open() {
              const store = await openStore(db, dataDir);
              cleanUps.push(() => store.close());
              return store;
            },
            defer: (cleanUp) => void cleanUps.push(cleanUp),
          };
          try {
            await body(fresh);
          } finally {
            for (const cleanUp of cleanUps.reverse()) await Promise.resolve(cleanUp()).catch(() => {});
            await rm(dataDir, { recursive: true, force: true });
          }
        });
      }, kind);
    });
  }
}

/** round(prompt × $0.25/M + completion × $1.25/M) in nano-dollars: the default prices. */
export function expectedNanoUsd(promptTokens: number, completionTokens: number): number {
  return Math.round(promptTokens * 0.25 * 1000 + completionTokens * 1.25 * 1000);
}

/** A closed row is billed exactly for its own token counts; an interrupted one costs nothing. */
export function assertRowConsistent(row: LedgerRow): void {
  const what = `row ${row.requestId} (${row.status}, ${row.promptTokens}+${row.completionTokens} tokens)`;
  assert.notEqual(row.finishedAt, null, `${what} has no finishedAt`);
  if (row.status === 'interrupted') {
    assert.equal(row.costUsd, 0, `${what} is billed`);
    return;
  }
  assert.ok(['completed', 'cancelled', 'failed'].includes(row.status), `${what} is not closed`);
  const nano = expectedNanoUsd(row.promptTokens, row.completionTokens);
  assert.equal(row.costUsd, nano / 1e9, `${what} costs ${row.costUsd}, expected ${nano} nano-dollars`);
  assert.ok(row.latencyMs !== null && row.httpStatus !== null, `${what} lacks latency or HTTP status`);
}

/**
 * The whole ledger is consistent: no request id twice, every row closed and billed exactly (or interrupted and
 * free), except the ids in `inProgress`, which must still be open. Returns the rows (newest first).
 */
export async function assertLedger(store: Store, inProgress: readonly string[] = []): Promise<LedgerRow[]> {
  const rows = await store.usage();
  for (const row of rows) {
    if (inProgress.includes(row.requestId)) {
      assert.equal(row.status, 'in_progress', `row ${row.requestId}`);
      assert.deepEqual([row.costUsd, row.finishedAt], [0, null]);
    } else assertRowConsistent(row);
  }
  const ids = new Set(rows.map((r) => r.requestId));
  assert.equal(ids.size, rows.length, 'a request id appears twice');
  for (const id of inProgress) assert.ok(ids.has(id), `no row ${id}`);
  return rows;
}

/** Polls the ledger until `done` holds (the server closes rows asynchronously after a disconnect). */
export async function waitForLedger(
  store: Store,
  done: (rows: LedgerRow[]) => boolean,
  timeoutMs = 15_000,
): Promise<LedgerRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await store.usage();
    if (done(rows)) return rows;
    if (Date.now() > deadline)
      assert.fail(`ledger never reached the expected state: ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Usage {
  readonly prompt: number;
  readonly completion: number;
}

/** The parts of a chat.completion response body the ledger tests read. */
export interface CompletionJson {
  readonly choices: readonly { readonly index: number }[];
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number };
}

export async function completionUsage(response: Response): Promise<Usage & { choices: number }> {
  const text = await response.text();
  assert.equal(response.status, 200, text);
  const json = JSON.parse(text) as CompletionJson;
  return {
    prompt: json.usage.prompt_tokens,
    completion: json.usage.completion_tokens,
    choices: json.choices.length,
  };
}

export function chatBody(content: string, options: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'pixtral', messages: [{ role: 'user', content }], temperature: 0, ...options };
}

export function postChat(
  url: string,
  body: Record<string, unknown>,
  init: { key?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(init.key !== undefined && { authorization: `Bearer ${init.key}` }),
    },
    body: JSON.stringify(body),
    ...(init.signal && { signal: init.signal }),
  });
}

/**
 * The same request over node:http with the given agent: a keep-alive agent holds its idle connection open
 * (as SDK clients and proxies do) instead of dropping it after a few seconds like fetch.
 */
export function postChatWithAgent(
  url: string,
  body: Record<string, unknown>,
  agent: Agent,
): Promise<Response> {
  return new Promise((done, fail) => {
    const request = httpRequest(`${url}/v1/chat/completions`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json' },
    });
    request.once('error', fail).once('response', (response) => {
      const headers = Object.entries(response.headers).map(([k, v]): [string, string] => [k, String(v)]);
      const stream = Readable.toWeb(response) as ReadableStream<Uint8Array>;
      done(new Response(stream, { status: response.statusCode ?? 0, headers }));
    });
    request.end(JSON.stringify(body));
  });
}

/** A streamed completion read frame by frame, so a test can stop (or signal the server) part-way. */
export class ChatStream {
  private readonly frames: AsyncIterator<{ event: string; data: string }>;
  /** Content deltas received so far (all choices). */
  contentChunks = 0;
  choices = new Set<number>();
  usage: Usage | undefined;
  done = false;
  errors: string[] = [];

  constructor(response: Response) {
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    this.frames = readSse(response.body!)[Symbol.asyncIterator]();
  }

  /** Reads until `count` content deltas have arrived in total; false if the stream ended first. */
  async readContent(count: number): Promise<boolean> {
    while (this.contentChunks < count) if (!(await this.next())) return false;
    return true;
  }

  /** Reads to the end of the stream. */
  async readAll(): Promise<this> {
    while (await this.next());
    return this;
  }

  private async next(): Promise<boolean> {
    const frame = await this.frames.next();
    if (frame.done) return false;
    const { event, data } = frame.value;
    assert.ok(!this.done, 'data after [DONE]');
    if (event === 'error') this.errors.push(data);
    else if (data === '[DONE]') this.done = true;
    else {
      const chunk = JSON.parse(data);
      for (const choice of chunk.choices) {
        this.choices.add(choice.index);
        if (choice.finish_reason === null && choice.delta.content) this.contentChunks++;
      }
      if (chunk.usage) {
        assert.equal(this.usage, undefined, 'usage sent twice');
        this.usage = { prompt: chunk.usage.prompt_tokens, completion: chunk.usage.completion_tokens };
      }
    }
    return true;
  }
}

/** `pixtral serve` running as a child process, as an operator would start it. */
export interface ServeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

/**
 * Starts the CLI server on a free port (with `env` added to ours) and waits for its "on http://…" line; kills it
 * if it never comes.
 */
export async function spawnServe(
  args: readonly string[],
  env: Record<string, string> = {},
  startTimeoutMs = 60_000,
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [resolve('bin/pixtral.js'), 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PIXTRAL_DEBUG: '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`pixtral serve did not start: ${stderr}`)), startTimeoutMs);
    const look = () => {
      const match = / on (http:\/\/[^\s]+) \(/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        done(match[1]!);
      }
    };
    child.stderr!.on('data', look);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      fail(new Error(`pixtral serve exited (${code ?? signal}) before listening: ${stderr}`));
    });
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return { url, child, exited, stdout: () => stdout, stderr: () => stderr };
}

/**
 * Waits (up to `ms`) until the server's stdout matches: its log and its stderr announcement travel on separate
 * pipes, so a log line written before the "on http://…" line may still arrive after it.
 */
export async function untilStdout(server: ServeProcess, pattern: RegExp, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  while (!pattern.test(server.stdout()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return server.stdout();
}

/** Kills a child server that is still running (test clean-up) and waits until it is gone. */
export async function killServe(server: ServeProcess): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await server.exited;
}
