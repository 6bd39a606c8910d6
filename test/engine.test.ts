import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Engine } from '../src/engine/engine.js';
import type { GenerationEvent } from '../src/generate/generate.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';

const goldens = loadGoldens();
const engine = Engine.load(fixturePath(goldens.model.consolidated));
const greedy = { temperature: 0, topP: 1 };

async function collect(events: AsyncGenerator<GenerationEvent>) {
  const deltas: string[] = [];
  let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
  for await (const e of events) {
    if (e.type === 'text') deltas.push(e.text);
    else done = e;
  }
  return { deltas, done: done! };
}

describe('engine generation', () => {
  it('streams the greedy golden text (image request) with usage counting image tokens', async () => {
    const g = goldens.model.generate.find((x: { ids: number[] }) => x.ids.includes(10));
    const prompt = await engine.prepare(JSON.parse(readFileSync(fixturePath(g.request), 'utf8')));
    assert.deepEqual(prompt.ids, g.ids);
    const { deltas, done } = await collect(
      engine.generate(prompt, { maxTokens: g.max_new_tokens, sampling: greedy }),
    );
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
    const prompt = await engine.prepare({ messages: [{ role: 'user', content: 'Tell me something.' }] });
    const run = async () =>
      (
        await collect(
          engine.generate(prompt, { maxTokens: 8, sampling: { temperature: 1, topP: 0.9, seed: 11 } }),
        )
      ).done.tokens;
    assert.deepEqual(await run(), await run());
  });

  it('cuts at a stop string and reports finish_reason stop', async () => {
    const prompt = await engine.prepare({
      messages: [{ role: 'user', content: 'Tell me a joke about cats.' }],
    });
    const full = (await collect(engine.generate(prompt, { maxTokens: 12, sampling: greedy }))).done.text;
    const stop = full.slice(4, 7);
    const cut = await collect(engine.generate(prompt, { maxTokens: 12, sampling: greedy, stop: [stop] }));
    assert.equal(cut.done.finishReason, 'stop');
    assert.equal(cut.done.text, full.slice(0, full.indexOf(stop)));
    assert.ok(!cut.deltas.join('').includes(stop));
  });

  it('stops within one token when the AbortSignal fires', async () => {
    const prompt = await engine.prepare({ messages: [{ role: 'user', content: 'Go on.' }] });
    const controller = new AbortController();
    let texts = 0;
    await assert.rejects(async () => {
      for await (const e of engine.generate(prompt, {
        maxTokens: 200,
        sampling: greedy,
        signal: controller.signal,
      })) {
        if (e.type === 'text' && ++texts === 2) controller.abort();
      }
    }, /abort/i);
    assert.ok(texts <= 3, `stopped after ${texts} text events`);
  });
});
