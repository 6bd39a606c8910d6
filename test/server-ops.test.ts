/**
 * Running the server: /health and /metrics, the caller's own /v1/usage, graceful shutdown with a stream in
 * flight, `--upstream` in front of another server, and logs that never carry keys or image data.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Mistral } from '@mistralai/mistralai';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { ask, assertApiError, assertInvalidField, postChat, sseFrames } from './helpers/http.js';
import { MODEL, startTestServer, type TestServer } from './helpers/server.js';

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}
interface UsageReport {
  object: string;
  key: { id: string };
  totals: { requests: number; prompt_tokens: number; completion_tokens: number; cost_usd: number };
  data: (Usage & { model: string; status: string; cost_usd: number })[];
}
const json = async <T>(res: Response) => (await res.json()) as T;
const cost = (u: Usage) => u.prompt_tokens * 0.25e-6 + u.completion_tokens * 1.25e-6;
const closeTo = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} vs ${expected}`);

async function complete(
  server: TestServer,
  key: string | null,
  body: Record<string, unknown>,
): Promise<Usage> {
  const res = await postChat(server, key, body);
  assert.equal(res.status, 200);
  return ((await res.json()) as { usage: Usage }).usage;
}

/** The value of one sample in Prometheus text format (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && want.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('GET /health and GET /metrics', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer()));
  after(() => server.stop());

  it('/health reports ok, the model, the backend and the load', async () => {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    const body = await json<Record<string, unknown>>(res);
    assert.deepEqual(
      { ...body, backend: typeof body.backend, replica: typeof body.replica, engine: typeof body.engine },
      {
        status: 'ok',
        model: MODEL,
        backend: 'string',
        engine: 'object',
        replica: 'string',
        queue_depth: 0,
        running: 0,
      },
    );
  });

  it('/metrics counts the requests, statuses and tokens this server handled', async () => {
    const scrape = async () => {
      const res = await fetch(`${server.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      return res.text();
    };
    const before = await scrape();
    const key = await server.key('paid');
    const usages = [
      await complete(server, key, ask('One', { max_tokens: 3 })),
      await complete(server, key, ask('Two', { max_tokens: 5 })),
    ];
    const stream = sseFrames(await (await postChat(server, key, ask('Three', { stream: true }))).text());
    usages.push(JSON.parse(stream.at(-2)!.data).usage);
    await assertApiError(
      await postChat(server, null, ask('x')),
      401,
      'authentication_error',
      'invalid_api_key',
    );
    await assertInvalidField(await postChat(server, key, { messages: [] }), ['body', 'messages']);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);

    const after = await scrape();
    for (const name of ['pixtral_requests_total', 'pixtral_tokens_total', 'pixtral_queue_depth'])
      assert.match(after, new RegExp(`^# TYPE ${name} `, 'm'));
    const added = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    const chat = (status: string) =>
      added('pixtral_requests_total', { route: '/v1/chat/completions', status });
    assert.deepEqual([chat('200'), chat('401'), chat('422')], [3, 1, 1], 'a stream counts once');
    assert.equal(added('pixtral_requests_total', { route: '/health', status: '200' }), 1);
    const sum = (pick: (u: Usage) => number) => usages.reduce((n, u) => n + pick(u), 0);
    assert.equal(
      added('pixtral_tokens_total', { kind: 'prompt' }),
      sum((u) => u.prompt_tokens),
    );
    assert.equal(
      added('pixtral_tokens_total', { kind: 'completion' }),
      sum((u) => u.completion_tokens),
    );
    assert.equal(sample(after, 'pixtral_queue_depth'), 0);
    assert.equal(sample(after, 'pixtral_running_sequences'), 0);
  });
});

describe('GET /v1/usage', () => {
  let server: TestServer;
  const keys: { id: string; secret: string; usages: Usage[] }[] = [];
  before(async () => {
    server = await startTestServer();
    for (const [name, questions] of [
      ['alice', ['Hello', 'Name a colour']],
      ['bob', ['Count to three']],
    ] as const) {
      const { record, secret } = await server.store.createKey(name, 'paid');
      const usages = [];
      for (const q of questions) usages.push(await complete(server, secret, ask(q, { max_tokens: 4 })));
      keys.push({ id: record.id, secret, usages });
    }
  });
  after(() => server.stop());
  const usage = (secret: string, query = '') =>
    fetch(`${server.url}/v1/usage${query}`, { headers: { authorization: `Bearer ${secret}` } });

  it("returns only the caller's rows, with totals and cost = prompt·$0.25/M + completion·$1.25/M", async () => {
    for (const key of keys) {
      const res = await usage(key.secret);
      assert.equal(res.status, 200);
      const body = await json<UsageReport>(res);
      assert.equal(body.object, 'usage');
      assert.equal(body.key.id, key.id);
      const pairs = (list: Usage[]) => list.map((u) => [u.prompt_tokens, u.completion_tokens].join()).sort();
      assert.deepEqual(pairs(body.data), pairs(key.usages));
      for (const row of body.data) {
        assert.deepEqual([row.model, row.status], [MODEL, 'completed']);
        closeTo(row.cost_usd, cost(row), 'row cost');
      }
      const sum = (pick: (u: Usage) => number) => key.usages.reduce((n, u) => n + pick(u), 0);
      assert.equal(body.totals.requests, key.usages.length);
      assert.equal(
        body.totals.prompt_tokens,
        sum((u) => u.prompt_tokens),
      );
      assert.equal(
        body.totals.completion_tokens,
        sum((u) => u.completion_tokens),
      );
      closeTo(body.totals.cost_usd, sum(cost), 'total cost');
    }
  });

  it('filters by since: the future holds nothing, the past holds everything', async () => {
    const future = await json<UsageReport>(await usage(keys[0]!.secret, '?since=2999-01-01T00:00:00Z'));
    assert.deepEqual([future.data, future.totals.requests, future.totals.cost_usd], [[], 0, 0]);
    const past = await json<UsageReport>(await usage(keys[0]!.secret, '?since=2000-01-01'));
    assert.equal(past.data.length, 2);
  });

  it('refuses a since that is not a date (422) and a call without a key (401)', async () => {
    await assertInvalidField(await usage(keys[0]!.secret, '?since=yesterday'), ['query', 'since']);
    await assertApiError(
      await fetch(`${server.url}/v1/usage`),
      401,
      'authentication_error',
      'invalid_api_key',
    );
  });
});

describe('graceful shutdown', () => {
  it('finishes and bills the running stream, refuses new work (Mistral-shaped 503), then closes promptly', async () => {
    const server = await startTestServer();
    try {
      const key = await server.key('paid');
      // One keep-alive connection: the stream, then (once closing) a request pipelined behind it.
      const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
      let raw = '';
      socket.setEncoding('utf8').on('data', (data: string) => (raw += data));
      const socketClosed = new Promise((resolve) => socket.on('close', resolve));
      const body = JSON.stringify({
        model: MODEL,
        ...ask('Tell me a story', { max_tokens: 80, stream: true }),
      });
      const head = `Host: pixtral\r\nAuthorization: Bearer ${key}\r\n`;
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\n${head}Content-Type: application/json\r\n`);
      socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      while (!/"content":"[^"]/.test(raw)) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(server.engine.stats().running, 1, 'the stream is still generating');

      const closing = server.close();
      socket.write(`GET /v1/models HTTP/1.1\r\n${head}\r\n`);
      await assert.rejects(fetch(`${server.url}/health`), 'no new connections');
      await socketClosed;
      const closedAt = Date.now();
      await closing;
      assert.ok(Date.now() - closedAt < 1000, 'close() resolves once the last connection is done');

      const [stream, late] = raw.split(/\r\n(?=HTTP\/1\.1 )/);
      assert.match(stream!, /^HTTP\/1\.1 200 /);
      assert.ok(!stream!.includes('event: error'));
      const frames = [...stream!.matchAll(/^data: (.*)$/gm)].map((m) => m[1]!);
      assert.equal(frames.at(-1), '[DONE]');
      const last = JSON.parse(frames.at(-2)!);
      assert.ok(['stop', 'length'].includes(last.choices[0].finish_reason));
      assert.match(late!, /^HTTP\/1\.1 503 /);
      assert.match(late!, /^connection: close\r$/im);
      const error = JSON.parse(late!.slice(late!.indexOf('\r\n\r\n') + 4));
      assert.deepEqual(
        { ...error, message: 'm' },
        { object: 'error', message: 'm', type: 'service_unavailable', param: null, code: 'shutting_down' },
      );

      const store = new SqliteStore(join(server.dataDir, 'pixtral.db'));
      try {
        const rows = await store.usage();
        assert.equal(rows.length, 1, 'only the stream was admitted');
        assert.deepEqual([rows[0]!.status, rows[0]!.httpStatus], ['completed', 200]);
        assert.equal(rows[0]!.completionTokens, last.usage.completion_tokens);
        closeTo(rows[0]!.costUsd, cost(last.usage), 'cost');
      } finally {
        await store.close();
      }
    } finally {
      await server.close();
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  });
});

describe('--upstream: the API in front of another server', () => {
  let back: TestServer;
  let front: TestServer;
  let viaFront: Mistral;
  let direct: Mistral;
  before(async () => {
    back = await startTestServer({ auth: false });
    front = await startTestServer({}, { upstream: { url: back.url, model: MODEL } });
    const client = (server: TestServer, apiKey: string) =>
      new Mistral({ apiKey, serverURL: server.url, retryConfig: { strategy: 'none' } });
    viaFront = client(front, await front.key('paid'));
    direct = client(back, 'unused');
  });
  after(async () => {
    await front.stop();
    await back.stop();
  });
  const request = {
    model: MODEL,
    messages: [{ role: 'user' as const, content: 'Tell me a story.' }],
    temperature: 0,
  };

  it('gives exactly the greedy answer of the upstream, whole and streamed, and bills it in front', async () => {
    const [a, b] = await Promise.all(
      [direct, viaFront].map((c) => c.chat.complete({ ...request, maxTokens: 12 })),
    );
    assert.equal(b!.choices[0]!.message!.content, a!.choices[0]!.message!.content);
    assert.equal(b!.choices[0]!.finishReason, a!.choices[0]!.finishReason);
    assert.deepEqual(b!.usage, a!.usage);

    const streamed = async (client: Mistral) => {
      let text = '';
      let usage;
      for await (const event of await client.chat.stream({ ...request, maxTokens: 9 })) {
        text += (event.data.choices[0]?.delta.content as string | undefined) ?? '';
        usage = event.data.usage ?? usage;
      }
      return { text, usage };
    };
    const [c, d] = [await streamed(direct), await streamed(viaFront)];
    assert.deepEqual(d, c);
    assert.ok(c.text.length > 0);

    const [key] = await front.store.listKeys();
    const rows = await front.store.usage({ keyId: key!.id });
    assert.equal(rows.length, 2);
    const billed = rows.map((r) => [r.promptTokens, r.completionTokens, r.status].join()).sort();
    const expected = [a!.usage, c.usage!].map((u) =>
      [u.promptTokens, u.completionTokens, 'completed'].join(),
    );
    assert.deepEqual(billed, expected.sort());
  });

  it('answers 502 when the upstream is unreachable', async () => {
    const orphan = await startTestServer({}, { upstream: { url: 'http://127.0.0.1:1', model: MODEL } });
    try {
      const res = await postChat(orphan, await orphan.key('paid'), ask('hi'));
      await assertApiError(res, 502, 'upstream_error', 'upstream_unreachable');
    } finally {
      await orphan.stop();
    }
  });
});

describe('logs', () => {
  it('never contain an API key or image data', async () => {
    const lines: string[] = [];
    const server = await startTestServer(
      {},
      { logger: { level: 'trace', stream: { write: (line: string) => void lines.push(line) } } },
    );
    try {
      const key = await server.key('paid');
      const base64 = readFileSync('examples/shapes.png').toString('base64');
      const image = [{ type: 'image_url', image_url: `data:image/png;base64,${base64}` }];
      await complete(server, key, ask(image));
      await postChat(server, key, ask(image, { temperature: -1 }));
      await postChat(server, `${key}x`, ask(image));
      await postChat(
        server,
        key,
        `{"model": "${MODEL}", "messages": [{"role": "user", "content": "${base64}`,
      );
      const log = lines.join('');
      assert.match(log, /\/v1\/chat\/completions/, 'requests are logged');
      assert.ok(!log.includes(key), 'no API key');
      assert.ok(!log.includes(base64.slice(100, 160)), 'no image data');
    } finally {
      await server.stop();
    }
  });
});
