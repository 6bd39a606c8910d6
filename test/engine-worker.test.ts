/** The engine worker thread: same answers as the in-process engine, errors and cancellation across the boundary. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { loadNativeAddon } from '../src/backend/native/addon.js';
import { Engine, type EngineOptions } from '../src/engine/engine.js';
import { remoteImageFetcher } from '../src/server/remote-images.js';
import { ask, collect, prepare } from './helpers/engine.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import { fixtureEngine } from './helpers/server.js';

const goldens = loadGoldens();
const location = fixturePath(goldens.model.consolidated);
const fetchImage = remoteImageFetcher();

describe('engine worker thread', () => {
  let worker: Engine;
  before(async () => {
    worker = await Engine.inWorker(location, { scheduler: { maxBatch: 4, maxQueue: 8 } });
  });
  after(() => worker.close());

  it('answers the image golden exactly like the in-process engine', async () => {
    const g = goldens.model.generate.find((x: { ids: number[] }) => x.ids.includes(10));
    const body = JSON.parse(readFileSync(fixturePath(g.request), 'utf8'));
    const prompt = await prepare(
      worker,
      { ...body, max_tokens: g.max_new_tokens, temperature: 0 },
      fetchImage,
    );
    assert.deepEqual(prompt.ids, g.ids);
    const { deltas, done } = await collect(worker.generate(prompt));
    assert.deepEqual(
      done.tokens,
      g.greedy.filter((id: number) => id !== 2),
    );
    assert.equal(deltas.join(''), done.text);
  });

  it('runs concurrent requests (with a JSON schema crossing the boundary) like the engine does alone', async () => {
    const engine = fixtureEngine();
    const jsonSchema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const format = { type: 'json_schema', json_schema: { name: 'ok', schema: jsonSchema } };
    const results = await Promise.all(
      ['One.', 'Two?', 'Three!'].map(async (q, i) => {
        const body = ask(q, 12, i === 0 ? { response_format: format } : {});
        const alone = await collect(engine.generate(await prepare(engine, body)));
        return { worker: await collect(worker.generate(await prepare(worker, body))), alone };
      }),
    );
    for (const { worker: w, alone } of results) assert.deepEqual(w.done.tokens, alone.done.tokens);
    assert.equal(typeof JSON.parse(results[0]!.worker.done.text).ok, 'boolean');
  });

  it('runs n choices of an image prompt with one prefill and one vision encode, as the engine does alone', async () => {
    const g = goldens.model.generate.find((x: { ids: number[] }) => x.ids.includes(10));
    const body = JSON.parse(readFileSync(fixturePath(g.request), 'utf8'));
    const sampled = { ...body, max_tokens: 6, temperature: 1, random_seed: 3 };
    const prompt = await prepare(worker, sampled, fetchImage);
    const before = worker.stats();
    const streams = worker.generateChoices(prompt, 3, { scope: 'key:worker-test' });
    const choices = await Promise.all(streams.map(async (s) => (await collect(s)).done.tokens));
    const after = worker.stats();
    assert.equal(after.prefills - before.prefills, 1);
    assert.equal(after.visionEncodes - before.visionEncodes, 1);
    const engine = fixtureEngine();
    const local = await prepare(engine, sampled, fetchImage);
    for (const [i, tokens] of choices.entries())
      assert.deepEqual(tokens, (await collect(engine.generate(local, i))).done.tokens, `choice ${i}`);
  });

  it('stops a cancelled generation and keeps serving', async () => {
    const prompt = await prepare(worker, ask('Go on.', 500));
    const controller = new AbortController();
    let texts = 0;
    await assert.rejects(async () => {
      for await (const e of worker.generate(prompt, 0, controller.signal))
        if (e.type === 'text' && ++texts === 3) controller.abort();
    }, /abort/i);
    const next = await collect(worker.generate(await prepare(worker, ask('Go on.', 4))));
    assert.equal(next.done.usage.completionTokens, 4);
  });
});

describe('engine options reach the engine (in this thread and in the worker)', () => {
  // Every field of EngineOptions, each set away from its default, so a dropped option shows.
  const native = loadNativeAddon() !== null;
  const options: EngineOptions = {
    backend: native ? { backend: 'native', quant: 'q8', threads: 1 } : { backend: 'reference' },
    maxContext: 96,
    kvCache: 'q8',
    scheduler: { maxBatch: 3, maxQueue: 5, kvBudgetTokens: 500, cacheBytes: 12345, speculation: false },
  };
  const expected = {
    kvCache: 'q8',
    maxContext: 96,
    maxBatch: 3,
    maxQueue: 5,
    kvBudgetTokens: 500,
    cacheBytes: 12345,
    prefixCaching: true,
    speculation: false,
  };
  const checkBackend = (backend: string) => {
    if (native) assert.match(backend, /^native \(.*, q8, 1 threads\)$/);
    else assert.equal(backend, 'reference');
  };

  for (const where of ['this thread', 'worker'] as const) {
    it(`${where}: every option is in force`, async () => {
      const engine =
        where === 'worker' ? await Engine.inWorker(location, options) : Engine.load(location, options);
      try {
        const { backend, ...rest } = engine.settings;
        checkBackend(backend);
        assert.deepEqual(rest, expected);
        assert.equal(engine.maxContext, 96);
        // And the engine really runs with them: an answer comes back.
        const { done } = await collect(engine.generate(await prepare(engine, ask('Hello', 3))));
        assert.equal(done.usage.completionTokens, 3);
      } finally {
        await engine.close();
      }
    });
  }
});

describe('engine worker shutdown', () => {
  it('close() lets every in-flight stream deliver its last events before the thread ends', async () => {
    // The scheduler's last step and the relay of its last events are a few turns apart, and 'closed' ends the
    // thread: the worker waits for its relays first, or a stream would fail with "the engine worker stopped".
    for (let round = 0; round < 6; round++) {
      const engine = await Engine.inWorker(location, { scheduler: { maxBatch: 4, maxQueue: 8 } });
      let closed: Promise<void> | undefined;
      try {
        const prompts = await Promise.all([3, 5, 8].map((n) => prepare(engine, ask(`Count to ${n}`, n))));
        // Started streams (a first token each): waiting ones are failed by a shutdown on purpose.
        const streams = await Promise.all(
          prompts.map(async (prompt) => {
            const events = engine.generate(prompt)[Symbol.asyncIterator]();
            const first = await events.next();
            assert.ok(!first.done);
            return { first: first.value, events };
          }),
        );
        closed = engine.close();
        const results = await Promise.all(
          streams.map(({ first, events }) =>
            collect({ [Symbol.asyncIterator]: () => prepend(first, events) }),
          ),
        );
        assert.deepEqual(
          results.map((r) => r.done.usage.completionTokens),
          [3, 5, 8],
        );
      } finally {
        await (closed ?? engine.close({ cancel: true }));
      }
    }
  });
});

async function* prepend<T>(first: T, rest: AsyncIterator<T>): AsyncGenerator<T> {
  yield first;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}
