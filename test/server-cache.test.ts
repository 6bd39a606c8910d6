/**
 * Ask twice, pay once (issue #15) through the server: the prefix cache and the image-feature cache per API key,
 * `usage.prompt_tokens_details.cached_tokens`, the ledger's cached tokens and their price, /metrics, and `n`
 * choices sharing one prefill.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { postChat } from './helpers/http.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const g = loadGoldens().model.generate.find((x: { ids: number[] }) => x.ids.includes(10));
const request = JSON.parse(readFileSync(fixturePath(g.request), 'utf8')) as {
  messages: { role: string; content: { type: string; text?: string; image_url?: string }[] }[];
};
const imageUrl = request.messages[0]!.content.find((part) => part.type === 'image_url')!.image_url!;
/** The picture first, then a question: a second question about it shares the prefix up to the question. */
const aboutPicture = (question: string, extra: Record<string, unknown> = {}) => ({
  messages: [
    {
      role: 'user',
      content: [
        { type: 'image_url', image_url: imageUrl },
        { type: 'text', text: question },
      ],
    },
  ],
  temperature: 0,
  max_tokens: 6,
  ...extra,
});
/** The fixture's request (sampled). */
const fixtureRequest = (extra: Record<string, unknown> = {}) => ({
  messages: request.messages,
  temperature: 1,
  random_seed: 5,
  max_tokens: 6,
  ...extra,
});

interface Completion {
  choices: { index: number; message: { content: string } }[];
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    prompt_tokens_details: { cached_tokens: number };
  };
}

async function complete(server: TestServer, key: string, body: Record<string, unknown>): Promise<Completion> {
  const res = await postChat(server, key, body);
  assert.equal(res.status, 200);
  return (await res.json()) as Completion;
}

const contents = (completion: Completion) => completion.choices.map((c) => c.message.content);

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

describe('caches through the server', () => {
  let server: TestServer;
  before(
    async () =>
      (server = await startTestServer(
        // Cached prompt tokens at a fifth of the input price (--price-cached 0.05).
        { prices: { inputPerMillion: 0.25, outputPerMillion: 1.25, cachedInputPerMillion: 0.05 } },
        // Sampled answers are compared across batch shapes below: prompt lookup stays out of it.
        { engine: { scheduler: { cacheBytes: 1 << 26, speculation: false } } },
      )),
  );
  after(() => server.stop());

  it('a second question about the same picture reports cached_tokens, answers as uncached, and is billed for them', async () => {
    const [one, two] = [await server.key(), await server.key()];
    const first = await complete(server, one, aboutPicture('What is in this image?'));
    assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
    const second = await complete(server, one, aboutPicture('Which colours are there?'));
    const cached = second.usage.prompt_tokens_details.cached_tokens;
    const imageTokens = g.ids.filter((id: number) => id === 10).length;
    assert.ok(cached >= imageTokens, `${cached} cached, the picture alone is ${imageTokens}`);
    assert.ok(cached < second.usage.prompt_tokens);
    // The same answer as another key gets, which shares nothing.
    const fresh = await complete(server, two, aboutPicture('Which colours are there?'));
    assert.equal(fresh.usage.prompt_tokens_details.cached_tokens, 0);
    assert.deepEqual(contents(second), contents(fresh));

    assert.equal(await metric(server, 'pixtral_prefix_cache_hits_total'), 1);
    assert.equal(await metric(server, 'pixtral_prefix_cached_tokens_total'), cached);
    assert.ok((await metric(server, 'pixtral_prefix_cache_misses_total')) >= 2);
    assert.ok((await metric(server, 'pixtral_prefix_cache_bytes')) > 0);

    // The ledger: cached tokens per request and in the totals, billed at the cached price.
    const usage = (await (
      await fetch(`${server.url}/v1/usage`, { headers: { authorization: `Bearer ${one}` } })
    ).json()) as {
      totals: { cached_tokens: number; cost_usd: number };
      data: { prompt_tokens: number; completion_tokens: number; cached_tokens: number; cost_usd: number }[];
    };
    assert.equal(usage.totals.cached_tokens, cached);
    const row = usage.data.find((r) => r.cached_tokens > 0)!;
    assert.equal(row.cached_tokens, cached);
    const expected =
      ((row.prompt_tokens - cached) * 0.25 + cached * 0.05 + row.completion_tokens * 1.25) / 1e6;
    assert.ok(Math.abs(row.cost_usd - expected) < 1e-12, `${row.cost_usd} vs ${expected}`);
  });

  it('the same picture after other text: the image cache serves it, per key', async () => {
    const [one, two] = [await server.key(), await server.key()];
    const hits = () => metric(server, 'pixtral_image_cache_hits_total');
    const misses = () => metric(server, 'pixtral_image_cache_misses_total');
    const [hits0, misses0] = [await hits(), await misses()];
    const first = contents(await complete(server, one, fixtureRequest()));
    // A system prompt goes before the picture: the prefix ends there, the picture's features are reused.
    const system = { role: 'system', content: 'Answer briefly.' };
    await complete(server, one, fixtureRequest({ messages: [system, ...request.messages] }));
    assert.equal((await hits()) - hits0, 1);
    assert.equal((await misses()) - misses0, 1);
    assert.deepEqual(contents(await complete(server, two, fixtureRequest())), first);
    assert.equal((await misses()) - misses0, 2, 'another key encodes the picture itself');
  });

  it('n = 3 encodes the image and prefills the prompt once; choice i answers as seed + i alone', async () => {
    const key = await server.key();
    const before = server.engine.stats();
    const choices = contents(await complete(server, key, fixtureRequest({ n: 3, random_seed: 11 })));
    const after = server.engine.stats();
    assert.equal(after.prefills - before.prefills, 1);
    assert.equal(after.visionEncodes - before.visionEncodes, 1);
    for (const [i, content] of choices.entries())
      assert.deepEqual(
        contents(await complete(server, await server.key(), fixtureRequest({ random_seed: 11 + i }))),
        [content],
        `choice ${i}`,
      );
  });
});
