/**
 * The request pipeline's order and its endings, over loopback: a body is only read as JSON (415 otherwise), it
 * is validated before the model name is checked, and a client that leaves is a cancellation (499) in the
 * logs and metrics — not a 500 logged as an error, not a stream error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertApiError, assertInvalidField, ask, postChat } from './helpers/http.js';
import { MODEL, startTestServer, type TestServer } from './helpers/server.js';

interface LogLine {
  level: number;
  msg?: string;
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const requestsCounted = async (server: TestServer, status: string) => {
  const text = await server.metrics.registry.getSingleMetricAsString('pixtral_requests_total');
  const line = text
    .split('\n')
    .find((l) => l.includes('route="/v1/chat/completions"') && l.includes(`status="${status}"`));
  return line ? Number(line.split(' ').pop()) : 0;
};

describe('the body: JSON only, validated before the model is looked at', () => {
  let server: TestServer;
  let key: string;
  before(async () => {
    server = await startTestServer();
    key = await server.key('paid');
  });
  after(() => server.stop());

  it('a JSON body sent as text/plain is a 415, like a form', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': type, authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: MODEL, ...ask('hi') }),
      });
      const error = await assertApiError(res, 415, 'invalid_request_error', 'unsupported_media_type');
      assert.match(error.message, /content type/i, type);
    }
    assert.deepEqual(await server.store.usage(), [], 'nothing recorded');
  });

  it('an unknown model with an invalid field is a 422 naming the field, not a 400 about the model', async () => {
    const res = await postChat(server, key, { model: 'x', ...ask('hi'), temperature: 'hot' });
    await assertInvalidField(res, ['body', 'temperature']);
    const unknown = await postChat(server, key, { model: 'x', ...ask('hi') });
    await assertApiError(unknown, 400, 'invalid_request_error', 'invalid_model');
  });

  it('every problem of a body comes back in one 422, server-level fields included', async () => {
    const res = await postChat(server, key, {
      ...ask('hi'),
      n: 99,
      seed: -1,
      parallel_tool_calls: 'no',
      top_p: 7,
    });
    const body = await assertApiError(res, 422, 'invalid_request_error', null);
    const fields = body.detail!.map((d) => d.loc.join('.')).sort();
    assert.deepEqual(fields, ['body.n', 'body.parallel_tool_calls', 'body.seed', 'body.top_p']);
  });
});

describe('a client that goes away is a cancellation', () => {
  let server: TestServer;
  let key: string;
  const logs: LogLine[] = [];
  before(async () => {
    server = await startTestServer(
      {},
      {
        logger: {
          level: 'info',
          stream: { write: (line: string) => logs.push(JSON.parse(line) as LogLine) },
        },
      },
    );
    key = await server.key('paid');
  });
  after(() => server.stop());

  for (const stream of [false, true]) {
    it(`${stream ? 'streaming' : 'non-streaming'}: ledger 499, metrics 499, no error logged`, async () => {
      const before = server.engine.stats().decodedTokens;
      const cancelledBefore = await requestsCounted(server, '499');
      const abort = new AbortController();
      const request = postChat(
        server,
        key,
        { ...ask('Tell me a long story.'), max_tokens: 400, stream },
        abort.signal,
      );
      if (stream) await request; // headers arrive before the tokens
      await until(() => server.engine.stats().decodedTokens >= before + 5, 'generation');
      abort.abort();
      if (!stream) await assert.rejects(request, { name: 'AbortError' });
      await until(
        async () => (await requestsCounted(server, '499')) === cancelledBefore + 1,
        'the 499 count',
      );
      const rows = await server.store.usage();
      const row = rows[rows.length - 1]!;
      assert.equal(row.status, 'cancelled');
      assert.equal(row.httpStatus, 499);
      assert.equal(await requestsCounted(server, 'stream_error'), 0);
      assert.equal(await requestsCounted(server, '500'), 0);
      assert.deepEqual(
        logs.filter((l) => l.level >= 50),
        [],
        'nothing logged at error level',
      );
    });
  }
});
