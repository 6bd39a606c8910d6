/**
 * Every error status the API promises, over plain fetch on loopback: the status, the Mistral-shaped body
 * `{object: 'error', message, type, param, code}` (plus `detail` on 422s), the headers that go with it, and
 * nothing billed for a request that was never served. Remote image URLs: server-remote-images.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { prepare } from './helpers/engine.js';
import { DEFAULT_LIMITS } from '../src/server/config.js';
import type { TierLimits } from '../src/store/types.js';
import { ask, assertApiError, assertInvalidField, OpenStream, postChat, sseFrames } from './helpers/http.js';
import { fixtureEngine, startTestServer, type TestServer } from './helpers/server.js';

const IMAGE_URI = `data:image/png;base64,${readFileSync('examples/shapes.png').toString('base64')}`;
const withImage = (url: string) => ask([{ type: 'image_url', image_url: url }]);
const promptTokens = async (body: object) => (await prepare(fixtureEngine(), body)).ids.length;
const LONG = ask('tell me a long story ', { max_tokens: 300, stream: true });
const assertNothingRecorded = async (server: TestServer) =>
  assert.deepEqual(await server.store.usage(), [], 'nothing recorded in the ledger');

describe('401: a key is required', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer()));
  after(() => server.stop());

  it('refuses a request without an Authorization header', async () => {
    const res = await postChat(server, null, ask('hi'));
    assert.equal(res.headers.get('x-ratelimit-limit-requests'), null);
    await assertApiError(res, 401, 'authentication_error', 'invalid_api_key');
  });

  it('refuses an unknown key, also on GET routes', async () => {
    await assertApiError(
      await postChat(server, 'ptk_wrong', ask('hi')),
      401,
      'authentication_error',
      'invalid_api_key',
    );
    const models = await fetch(`${server.url}/v1/models`, { headers: { authorization: 'Bearer ptk_wrong' } });
    await assertApiError(models, 401, 'authentication_error', 'invalid_api_key');
  });

  it('refuses a key once it is revoked', async () => {
    const { record, secret } = await server.store.createKey('soon-revoked', 'paid');
    const accepted = await postChat(server, secret, ask('hi'));
    assert.equal(accepted.status, 200, await accepted.text());
    assert.equal(await server.store.revokeKey(record.id), true);
    await assertApiError(
      await postChat(server, secret, ask('hi')),
      401,
      'authentication_error',
      'invalid_api_key',
    );
  });

  it('with auth: false serves a request without a key (ledger row without key)', async () => {
    const open = await startTestServer({ auth: false });
    try {
      const res = await postChat(open, null, ask('hi'));
      assert.equal(res.status, 200, await res.clone().text());
      const body = (await res.json()) as { usage: { completion_tokens: number } };
      const rows = await open.store.usage();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.keyId, null);
      assert.equal(rows[0]!.completionTokens, body.usage.completion_tokens);
    } finally {
      await open.stop();
    }
  });
});

describe('422 / 400: invalid requests are refused before anything is billed', () => {
  let server: TestServer;
  let key: string;
  before(async () => {
    server = await startTestServer({ maxChoices: 2 });
    key = await server.key('paid');
  });
  after(() => server.stop());

  it('names the missing messages, a bad role and an out-of-range temperature in detail.loc', async () => {
    await assertInvalidField(await postChat(server, key, { temperature: 0 }), ['body', 'messages']);
    const robot = await postChat(server, key, { messages: [{ role: 'robot', content: 'beep' }] });
    const body = await assertInvalidField(robot, ['body', 'messages', 0, 'role']);
    assert.match(body.message, /robot/);
    await assertInvalidField(await postChat(server, key, ask('hi', { temperature: -1 })), [
      'body',
      'temperature',
    ]);
    await assertNothingRecorded(server);
  });

  it('refuses n above config.maxChoices', async () => {
    const res = await postChat(server, key, ask('hi', { n: 3 }));
    const body = await assertInvalidField(res, ['body', 'n']);
    assert.match(body.detail![0]!.msg, /less than or equal to 2/);
    await assertNothingRecorded(server);
  });

  it('needs a model (422) and refuses an unknown one (400 invalid_model)', async () => {
    const noModel = await postChat(server, key, JSON.stringify(ask('hi')));
    await assertInvalidField(noModel, ['body', 'model']);
    const wrong = await postChat(server, key, ask('hi', { model: 'gpt-4' }));
    const body = await assertApiError(wrong, 400, 'invalid_request_error', 'invalid_model');
    assert.match(body.message, /gpt-4/);
    await assertNothingRecorded(server);
  });

  it('refuses a body that is not JSON (400 invalid_json)', async () => {
    await assertApiError(
      await postChat(server, key, '{"model": '),
      400,
      'invalid_request_error',
      'invalid_json',
    );
    await assertNothingRecorded(server);
  });
});

describe('400: a prompt longer than the context', () => {
  let server: TestServer;
  let key: string;
  const body = ask('word '.repeat(100));
  before(async () => {
    server = await startTestServer({}, { engine: { maxContext: 64 } });
    key = await server.key('paid');
  });
  after(() => server.stop());

  it('answers 400 context_length_exceeded naming both sizes, also for a stream', async () => {
    const tokens = await promptTokens(body);
    assert.ok(tokens > 64);
    for (const stream of [false, true]) {
      const res = await postChat(server, key, { ...body, stream });
      const error = await assertApiError(res, 400, 'invalid_request_error', 'context_length_exceeded');
      assert.match(error.message, new RegExp(`\\b${tokens} tokens.* 64 maximum context`));
    }
  });

  it('bills nothing for a prompt over the context', async () => {
    const res = await postChat(server, key, body);
    await assertApiError(res, 400, 'invalid_request_error', 'context_length_exceeded');
    const rows = await server.store.usage();
    for (const row of rows) {
      assert.equal(row.completionTokens, 0);
      assert.equal(row.costUsd, 0, `row ${row.status} billed ${row.promptTokens} prompt tokens`);
    }
  });
});

describe('413: too large', () => {
  let server: TestServer;
  let key: string;
  before(async () => {
    server = await startTestServer({ bodyLimitBytes: 4096, images: { maxBytes: 300 } });
    key = await server.key('paid');
  });
  after(() => server.stop());

  it('refuses a body over config.bodyLimitBytes', async () => {
    const res = await postChat(server, key, ask('x'.repeat(5000)));
    await assertApiError(res, 413, 'invalid_request_error', 'request_too_large');
    await assertNothingRecorded(server);
  });

  it('refuses an image data URI over config.images.maxBytes', async () => {
    const res = await postChat(server, key, withImage(IMAGE_URI)); // 851 bytes > 300
    const body = await assertApiError(res, 413, 'invalid_request_error', 'too_large');
    assert.match(body.message, /300-byte/);
    await assertNothingRecorded(server);
  });

  it('refuses an image with too many pixels (a 54-byte BMP header claiming 10000×10000)', async () => {
    const bmp = Buffer.alloc(54);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(54, 10);
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(10_000, 18);
    bmp.writeInt32LE(10_000, 22);
    bmp.writeUInt16LE(1, 26);
    bmp.writeUInt16LE(24, 28);
    const res = await postChat(server, key, withImage(`data:image/bmp;base64,${bmp.toString('base64')}`));
    await assertApiError(res, 413, 'invalid_request_error', 'too_many_pixels');
    await assertNothingRecorded(server);
  });
});

describe('429: rate limits of the free tier', () => {
  const none: TierLimits = { requestsPerMinute: null, tokensPerMinute: null, monthlyTokens: null };
  const limited = (free: Partial<TierLimits>) =>
    startTestServer({ limits: { ...DEFAULT_LIMITS, free: { ...none, ...free } } });
  const body = ask('Hello there', { max_tokens: 3 });

  /** The 429, checked, with its headers. */
  async function refused(res: Response, code: string) {
    const retry = res.headers.get('retry-after') ?? '';
    await assertApiError(res, 429, 'rate_limit_error', code);
    assert.match(retry, /^\d+$/);
    assert.ok(Number(retry) >= 1, `retry-after ${retry}`);
    return { retry: Number(retry), header: (name: string) => res.headers.get(`x-ratelimit-${name}`) };
  }

  it('requests per minute: the headers count down and the third request gets 429 with Retry-After', async () => {
    const server = await limited({ requestsPerMinute: 2 });
    try {
      const key = await server.key('free');
      const remaining: (string | null)[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await postChat(server, key, body);
        assert.equal(res.status, 200, await res.text());
        assert.equal(res.headers.get('x-ratelimit-limit-requests'), '2');
        assert.match(res.headers.get('x-ratelimit-reset-requests') ?? '', /^\d+s$/);
        remaining.push(res.headers.get('x-ratelimit-remaining-requests'));
      }
      assert.deepEqual(remaining, ['1', '0']);
      const { retry, header } = await refused(await postChat(server, key, body), 'requests_limit_exceeded');
      assert.ok(retry <= 60);
      assert.equal(header('limit-requests'), '2');
      assert.equal(header('remaining-requests'), '0');
      assert.match(header('reset-requests') ?? '', /^\d+s$/);
      assert.equal((await server.store.usage()).length, 2, 'the refused request is not in the ledger');
      // Other authenticated routes carry the same headers (/v1/usage sets them from the state it reads).
      const report = await fetch(`${server.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(report.status, 200);
      assert.equal(report.headers.get('x-ratelimit-limit-requests'), '2');
      assert.equal(report.headers.get('x-ratelimit-remaining-requests'), '0');
      const paid = await postChat(server, await server.key('paid'), body);
      assert.equal(paid.status, 200, 'the paid tier is not limited');
    } finally {
      await server.stop();
    }
  });

  it('tokens per minute: a full token window refuses the next request', async () => {
    const prompt = await promptTokens(body);
    const server = await limited({ tokensPerMinute: prompt + 1 });
    try {
      const key = await server.key('free');
      const first = await postChat(server, key, body);
      assert.equal(first.status, 200);
      const { usage } = (await first.json()) as {
        usage: { prompt_tokens: number; completion_tokens: number };
      };
      assert.equal(usage.prompt_tokens, prompt);
      assert.equal(first.headers.get('x-ratelimit-limit-tokens'), String(prompt + 1));
      assert.equal(first.headers.get('x-ratelimit-remaining-tokens'), '1');
      const { retry, header } = await refused(await postChat(server, key, body), 'tokens_limit_exceeded');
      assert.ok(retry <= 60);
      const left = Math.max(0, prompt + 1 - usage.prompt_tokens - usage.completion_tokens);
      assert.equal(header('remaining-tokens'), String(left));
    } finally {
      await server.stop();
    }
  });

  it('monthly quota: refused until the month rolls over', async () => {
    const prompt = await promptTokens(body);
    const server = await limited({ monthlyTokens: prompt + 1 });
    try {
      const key = await server.key('free');
      const first = await postChat(server, key, body);
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('x-ratelimit-limit-tokens-month'), String(prompt + 1));
      assert.equal(first.headers.get('x-ratelimit-remaining-tokens-month'), '1');
      const { retry } = await refused(await postChat(server, key, body), 'monthly_limit_exceeded');
      const now = new Date();
      const toNextMonth = (Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) - now.getTime()) / 1000;
      assert.ok(Math.abs(retry - toNextMonth) < 5, `retry-after ${retry}, month ends in ${toNextMonth}s`);
    } finally {
      await server.stop();
    }
  });
});

describe('503: overloaded', () => {
  let server: TestServer;
  let key: string;
  before(async () => {
    server = await startTestServer({}, { engine: { scheduler: { maxBatch: 1, maxQueue: 1 } } });
    key = await server.key('paid');
  });
  after(() => server.stop());

  /** One stream running, one queued: the next request is refused. Cleans up, and returns that response. */
  async function overload(): Promise<Response> {
    const abort = new AbortController();
    const running = new OpenStream(await postChat(server, key, LONG, abort.signal));
    try {
      await running.untilContent();
      const queued = await postChat(server, key, LONG, abort.signal); // SSE headers come at once
      assert.equal(queued.status, 200);
      assert.deepEqual([server.engine.stats().running, server.engine.stats().waiting], [1, 1]);
      return await postChat(server, key, ask('hi'));
    } finally {
      abort.abort();
      await running.cancel();
      while (server.engine.stats().running + server.engine.stats().waiting > 0)
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('refuses a request when the batch and the queue are full, with Retry-After', async () => {
    const res = await overload();
    assert.equal(res.headers.get('retry-after'), '1');
    await assertApiError(res, 503, 'service_unavailable', 'overloaded');
  });

  it('bills nothing for a request refused as overloaded', async () => {
    await assertApiError(await overload(), 503, 'service_unavailable', 'overloaded');
    const refused = (await server.store.usage()).filter((row) => row.httpStatus === 503);
    for (const row of refused) assert.equal(row.costUsd, 0, `billed ${row.promptTokens} prompt tokens`);
  });

  it('scheduler maxQueue 0 still serves a request when a batch slot is free', async () => {
    const strict = await startTestServer({}, { engine: { scheduler: { maxBatch: 1, maxQueue: 0 } } });
    try {
      const res = await postChat(strict, await strict.key('paid'), ask('hi'));
      assert.equal(res.status, 200, await res.text());
    } finally {
      await strict.stop();
    }
  });
});

describe('a stream that fails part-way', () => {
  it('ends with an `event: error` frame and data: [DONE], not a cut connection', async () => {
    const server = await startTestServer();
    try {
      const stream = new OpenStream(await postChat(server, await server.key('paid'), LONG));
      await stream.untilContent();
      await server.engine.close({ cancel: true }); // fails the running sequence (SchedulerClosedError)
      const frames = sseFrames(await stream.rest());
      assert.deepEqual(frames.at(-1), { event: 'message', data: '[DONE]' });
      const error = frames.at(-2)!;
      assert.equal(error.event, 'error');
      assert.deepEqual(
        { ...JSON.parse(error.data), message: 'm' },
        { object: 'error', message: 'm', type: 'service_unavailable', param: null, code: 'shutting_down' },
      );
      const chunks = frames.slice(0, -2).map((f) => JSON.parse(f.data));
      assert.ok(
        chunks.every((c) => c.object === 'chat.completion.chunk' && c.choices[0].finish_reason === null),
      );
      const [row] = await server.store.usage();
      assert.equal(row!.status, 'failed');
      assert.equal(row!.httpStatus, 503);
    } finally {
      await server.stop();
    }
  });
});
