import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Engine } from '../src/engine/engine.js';
import { ContextLengthError } from '../src/generate/sequence.js';
import { ask, collect, prepare } from './helpers/engine.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';

const goldens = loadGoldens();
const engine = Engine.load(fixturePath(goldens.model.consolidated));

describe('engine generation', () => {
  it('streams the greedy golden text (image request) with usage counting image tokens', async () => {
    const g = goldens.model.generate.find((x: { ids: number[] }) => x.ids.includes(10));
    const body = JSON.parse(readFileSync(fixturePath(g.request), 'utf8'));
    const prompt = await prepare(engine, { ...body, max_tokens: g.max_new_tokens, temperature: 0 });
    assert.deepEqual(prompt.ids, g.ids);
    const { deltas, done } = await collect(engine.generate(prompt));
    assert.deepEqual(
      done.tokens,
      g.greedy.filter((id: number) => id !== 2),
    );
    assert.equal(deltas.join(''), done.text);
    assert.equal(done.text, g.text);
    for (const d of deltas) assert.ok(!/[\uD800-\uDBFF]$/.test(d), 'no half characters');
    assert.equal(done.usage.promptTokens, g.ids.length);
    assert.equal(done.finishReason, g.stopped_on_eos ? 'stop' : 'length');
  });

  it('reproduces sampled output from the same random_seed', async () => {
    const body = ask('Tell me something.', 8, { temperature: 1, top_p: 0.9, random_seed: 11 });
    const run = async () => (await collect(engine.generate(await prepare(engine, body)))).done.tokens;
    assert.deepEqual(await run(), await run());
  });

  it('cuts at a stop string and reports finish_reason stop', async () => {
    const body = ask('Tell me a joke about cats.', 12);
    const full = (await collect(engine.generate(await prepare(engine, body)))).done.text;
    const stop = full.slice(4, 7);
    const cut = await collect(engine.generate(await prepare(engine, { ...body, stop: [stop] })));
    assert.equal(cut.done.finishReason, 'stop');
    assert.equal(cut.done.text, full.slice(0, full.indexOf(stop)));
    assert.ok(!cut.deltas.join('').includes(stop));
  });

  it('stops within one token when the AbortSignal fires', async () => {
    const prompt = await prepare(engine, ask('Go on.', 200));
    const controller = new AbortController();
    let texts = 0;
    await assert.rejects(async () => {
      for await (const e of engine.generate(prompt, 0, controller.signal)) {
        if (e.type === 'text' && ++texts === 2) controller.abort();
      }
    }, /abort/i);
    assert.ok(texts <= 3, `stopped after ${texts} text events`);
  });

  it('checks the context once, when the prompt is prepared, and fits max_tokens to what is left', async () => {
    const small = Engine.load(fixturePath(goldens.model.consolidated), { maxContext: 40 });
    try {
      const prompt = await prepare(small, ask('Hi', 1000));
      assert.equal(prompt.options.room, 40 - prompt.ids.length);
      assert.equal(prompt.options.maxTokens, prompt.options.room);
      const { done } = await collect(small.generate(prompt));
      assert.equal(
        done.finishReason,
        done.usage.completionTokens === prompt.options.room ? 'model_length' : 'stop',
      );
      await assert.rejects(prepare(small, ask('word '.repeat(60), 5)), ContextLengthError);
    } finally {
      await small.close();
    }
  });
});
