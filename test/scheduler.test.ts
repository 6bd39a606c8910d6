import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../src/engine/engine.js';
import { loadModel } from '../src/engine/load-model.js';
import { QueueFullError, Scheduler, type SchedulerOptions } from '../src/engine/scheduler.js';
import type { GenerationEvent } from '../src/generate/sequence.js';
import { decodeOptions, prepare } from './helpers/engine.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';

const goldens = loadGoldens();
const location = fixturePath(goldens.model.consolidated);
const engine = Engine.load(location);
const { model, tokenizer } = loadModel(location);
const newScheduler = (options?: SchedulerOptions) => new Scheduler(model, tokenizer, options);
const questions = ['Hello there.', 'What is 2+2?', 'Name three colours.', 'Write a haiku about rain.'];

async function finalEvent(events: AsyncIterable<GenerationEvent>) {
  let text = '';
  for await (const e of events) {
    if (e.type === 'text') text += e.text;
    else return { ...e, streamed: text };
  }
  throw new Error('stream ended without a done event');
}

describe('scheduler (continuous batching)', () => {
  it('gives every concurrent request exactly its single-request output while batching decode steps', async () => {
    const prompts = await Promise.all(
      questions.map((q) => prepare(engine, { messages: [{ role: 'user', content: q }] })),
    );
    // One at a time (each alone in its batch), then all four together.
    const alone = [];
    for (const [i, p] of prompts.entries())
      alone.push(await finalEvent(newScheduler().submit(p.ids, p.images, decodeOptions(6 + i * 3))));
    const scheduler = newScheduler({ maxBatch: 4 });
    const batched = await Promise.all(
      prompts.map((p, i) => finalEvent(scheduler.submit(p.ids, p.images, decodeOptions(6 + i * 3)))),
    );
    for (let i = 0; i < prompts.length; i++) {
      assert.deepEqual(batched[i]!.tokens, alone[i]!.tokens, `request ${i}`);
      assert.equal(batched[i]!.streamed, batched[i]!.text);
      assert.equal(batched[i]!.finishReason, alone[i]!.finishReason);
    }
    const { decodeSteps, decodedTokens } = scheduler.stats;
    assert.ok(decodedTokens > decodeSteps, `${decodedTokens} tokens in ${decodeSteps} steps: batched`);
    assert.equal(scheduler.stats.running, 0);
  });

  it('batches an image request with text requests and matches the greedy golden', async () => {
    const g = goldens.model.generate.find((x: { ids: number[] }) => x.ids.includes(10));
    const { readFileSync } = await import('node:fs');
    const image = await prepare(engine, JSON.parse(readFileSync(fixturePath(g.request), 'utf8')));
    const text = await prepare(engine, { messages: [{ role: 'user', content: 'Count to ten.' }] });
    const scheduler = newScheduler();
    const [withImage] = await Promise.all([
      finalEvent(scheduler.submit(image.ids, image.images, decodeOptions(g.max_new_tokens))),
      finalEvent(scheduler.submit(text.ids, [], decodeOptions(20))),
    ]);
    assert.deepEqual(
      withImage.tokens,
      g.greedy.filter((id: number) => id !== 2),
    );
  });

  it('drops a cancelled request between steps and keeps serving the others', async () => {
    const prompt = await prepare(engine, { messages: [{ role: 'user', content: 'Go on.' }] });
    const scheduler = newScheduler();
    const controller = new AbortController();
    const cancelled = (async () => {
      let texts = 0;
      for await (const e of scheduler.submit(
        prompt.ids,
        [],
        decodeOptions(200, { signal: controller.signal }),
      )) {
        if (e.type === 'text' && ++texts === 2) controller.abort();
      }
    })();
    const other = finalEvent(scheduler.submit(prompt.ids, [], decodeOptions(10)));
    await assert.rejects(cancelled, /abort/i);
    assert.equal((await other).tokens.length > 0, true);
  });

  it('a consumer that stops reading frees its slot', async () => {
    const prompt = await prepare(engine, { messages: [{ role: 'user', content: 'Go on.' }] });
    const scheduler = newScheduler({ maxBatch: 1 });
    for await (const e of scheduler.submit(prompt.ids, [], decodeOptions(500))) {
      if (e.type === 'text') break;
    }
    const next = await finalEvent(scheduler.submit(prompt.ids, [], decodeOptions(3)));
    assert.equal(next.usage.completionTokens, 3);
  });

  it('refuses work beyond the queue bound with QueueFullError', async () => {
    const prompt = await prepare(engine, { messages: [{ role: 'user', content: 'Hi' }] });
    const scheduler = newScheduler({ maxBatch: 1, maxQueue: 2 });
    const streams: AsyncIterable<GenerationEvent>[] = [];
    const submit = () => scheduler.submit(prompt.ids, [], decodeOptions(2));
    // One request is taken in at once (prefill), two may wait: the fourth is refused.
    for (let i = 0; i < 3; i++) streams.push(submit());
    assert.throws(submit, QueueFullError);
    await Promise.all(streams.map(finalEvent));
  });
});
