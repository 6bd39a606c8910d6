/** The engine worker thread: same answers as the in-process engine, errors and cancellation across the boundary. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ContextLengthError, type GenerationEvent } from '../src/generate/sequence.js';
import { compileSchema } from '../src/generate/grammar/schema.js';
import { remoteImageFetcher } from '../src/server/remote-images.js';
import { WorkerChatBackend } from '../src/server/worker-chat-backend.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import { fixtureEngine } from './helpers/server.js';

const goldens = loadGoldens();
const greedy = { temperature: 0, topP: 1 };
const fetchImage = remoteImageFetcher();

async function done(events: AsyncIterable<GenerationEvent>) {
  let text = '';
  for await (const e of events) {
    if (e.type === 'text') text += e.text;
    else return { ...e, streamed: text };
  }
  throw new Error('no done event');
}

describe('engine worker thread', () => {
  let backend: WorkerChatBackend;
  before(async () => {
    backend = await WorkerChatBackend.start(fixturePath(goldens.model.consolidated), {
      scheduler: { maxBatch: 4, maxQueue: 8 },
    });
  });
  after(() => backend.close());

  it('answers the image golden exactly like the in-process engine', async () => {
    const g = goldens.model.generate.find((x: { ids: number[] }) => x.ids.includes(10));
    const body = JSON.parse(readFileSync(fixturePath(g.request), 'utf8'));
    const prompt = await backend.prepare(body, fetchImage);
    assert.deepEqual(prompt.ids, g.ids);
    const result = await done(backend.generate(prompt, { maxTokens: g.max_new_tokens, sampling: greedy }));
    assert.deepEqual(
      result.tokens,
      g.greedy.filter((id: number) => id !== 2),
    );
    assert.equal(result.streamed, result.text);
  });

  it('runs concurrent requests (with a JSON schema crossing the boundary) like the engine does alone', async () => {
    const engine = fixtureEngine();
    const schema = compileSchema({
      type: 'object',
      properties: { ok: { type: 'boolean' } },
      required: ['ok'],
    });
    const asks = ['One.', 'Two?', 'Three!'];
    const results = await Promise.all(
      asks.map(async (q, i) => {
        const prompt = await backend.prepare({ messages: [{ role: 'user', content: q }] }, fetchImage);
        const options = { maxTokens: 12, sampling: greedy, ...(i === 0 && { responseSchema: schema }) };
        const alone = await done(
          engine.generate(await engine.prepare({ messages: [{ role: 'user', content: q }] }), options),
        );
        return { worker: await done(backend.generate(prompt, options)), alone };
      }),
    );
    for (const { worker, alone } of results) assert.deepEqual(worker.tokens, alone.tokens);
    assert.equal(typeof JSON.parse(results[0]!.worker.text).ok, 'boolean');
  });

  it('refuses an over-long prompt at once with ContextLengthError', async () => {
    const ids = new Array(backend.maxContext + 5).fill(1000);
    assert.throws(
      () => backend.generate({ ids, images: [], request: { messages: [] } }, { sampling: greedy }),
      ContextLengthError,
    );
  });

  it('stops a cancelled generation and keeps serving', async () => {
    const prompt = await backend.prepare({ messages: [{ role: 'user', content: 'Go on.' }] }, fetchImage);
    const controller = new AbortController();
    let texts = 0;
    await assert.rejects(async () => {
      for await (const e of backend.generate(prompt, {
        maxTokens: 500,
        sampling: greedy,
        signal: controller.signal,
      }))
        if (e.type === 'text' && ++texts === 3) controller.abort();
    }, /abort/i);
    const next = await done(backend.generate(prompt, { maxTokens: 4, sampling: greedy }));
    assert.equal(next.usage.completionTokens, 4);
  });
});
