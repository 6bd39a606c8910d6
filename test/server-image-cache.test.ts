/**
 * Ask twice, pay once (issue #15) through the server: the image-feature cache per API key with its /metrics,
 * and `n` choices sharing one prefill.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { postChat } from './helpers/http.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const g = loadGoldens().model.generate.find((x: { ids: number[] }) => x.ids.includes(10));
const { messages } = JSON.parse(readFileSync(fixturePath(g.request), 'utf8')) as { messages: unknown };
const body = (extra: Record<string, unknown> = {}) => ({
  messages,
  temperature: 1,
  random_seed: 5,
  max_tokens: 6,
  ...extra,
});

interface Completion {
  choices: { index: number; message: { content: string } }[];
}

async function answers(server: TestServer, key: string, extra: Record<string, unknown> = {}) {
  const res = await postChat(server, key, body(extra));
  assert.equal(res.status, 200);
  const completion = (await res.json()) as Completion;
  return completion.choices.map((c) => c.message.content);
}

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

describe('image-feature cache and shared prefill through the server', () => {
  let server: TestServer;
  before(
    async () => (server = await startTestServer({}, { engine: { scheduler: { imageCacheBytes: 1 << 26 } } })),
  );
  after(() => server.stop());

  it('the same image from the same key hits, from another key misses; /metrics counts both', async () => {
    const [one, two] = [await server.key(), await server.key()];
    const first = await answers(server, one);
    assert.deepEqual(await answers(server, one), first);
    assert.equal(await metric(server, 'pixtral_image_cache_hits_total'), 1);
    assert.equal(await metric(server, 'pixtral_image_cache_misses_total'), 1);
    assert.ok((await metric(server, 'pixtral_image_cache_bytes')) > 0);
    assert.deepEqual(await answers(server, two), first);
    assert.equal(await metric(server, 'pixtral_image_cache_hits_total'), 1);
    assert.equal(await metric(server, 'pixtral_image_cache_misses_total'), 2);
  });

  it('n = 3 encodes the image and prefills the prompt once; choice i answers as seed + i alone', async () => {
    const key = await server.key();
    const before = server.engine.stats();
    const choices = await answers(server, key, { n: 3 });
    const after = server.engine.stats();
    assert.equal(after.prefills - before.prefills, 1);
    assert.equal(after.visionEncodes - before.visionEncodes, 1);
    for (const [i, content] of choices.entries())
      assert.deepEqual(await answers(server, key, { random_seed: 5 + i }), [content], `choice ${i}`);
  });
});
