import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ByteLru } from '../src/engine/byte-lru.js';
import { Engine } from '../src/engine/engine.js';
import { imageKey } from '../src/engine/image-cache.js';
import { loadModel } from '../src/engine/load-model.js';
import { commonPrefix, PrefixCache, type PromptKey } from '../src/engine/prefix-cache.js';
import { Scheduler, type PromptInput, type SchedulerOptions } from '../src/engine/scheduler.js';
import type { Prompt } from '../src/engine/prepare.js';
import type { PixtralModel } from '../src/model/pixtral.js';
import type { ImageInput } from '../src/model/vision-encoder.js';
import { collect, decodeOptions, prepare } from './helpers/engine.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';

const goldens = loadGoldens();
const location = fixturePath(goldens.model.consolidated);
const engine = Engine.load(location, { scheduler: { cacheBytes: 0 } });
const g = goldens.model.generate.find((x: { ids: number[] }) => x.ids.includes(10));
const imageUrl = JSON.parse(readFileSync(fixturePath(g.request), 'utf8')).messages[0].content.find(
  (part: { type: string }) => part.type === 'image_url',
).image_url as string;

/** A system prompt, then the picture, then a question about it: what a chat about one screenshot sends. */
const ask = (question: string, earlier: { role: string; content: unknown }[] = []) =>
  prepare(engine, {
    messages: [
      { role: 'system', content: 'You answer questions about pictures, briefly.' },
      ...earlier,
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: imageUrl },
          { type: 'text', text: question },
        ],
      },
    ],
  });
const first = await ask('What is in this image?');
const second = await ask('Which colours do you see?');
const imageTokens = first.images[0]!.rows * first.images[0]!.cols;
const input = (prompt: Prompt, scope = 'key-1'): PromptInput => ({
  ids: prompt.ids,
  images: prompt.images,
  scope,
});

const keyOf = (model: PixtralModel, prompt: Prompt, scope = 'key-1'): PromptKey => ({
  ids: prompt.ids,
  imageTokenId: model.imageTokenId,
  images: prompt.images.map((image) => ({ key: imageKey(scope, image), tokens: image.rows * image.cols })),
});

describe('prefix cache', () => {
  it('compares prompts by ids and by the picture behind every [IMG] run', () => {
    const { model } = loadModel(location);
    const a = keyOf(model, first);
    const b = keyOf(model, second);
    const shared = commonPrefix(a, b);
    const lastImage = a.ids.lastIndexOf(model.imageTokenId);
    assert.ok(shared > lastImage, `the two questions share the system prompt and the picture (${shared})`);
    assert.ok(shared < Math.min(a.ids.length, b.ids.length));
    assert.equal(commonPrefix(a, a), a.ids.length);
    // The same ids with another picture part at its first [IMG] token.
    const other: ImageInput = { ...first.images[0]!, pixels: first.images[0]!.pixels.map((x) => -x) };
    const c = keyOf(model, { ...first, images: [other] });
    assert.equal(commonPrefix(a, c), a.ids.indexOf(model.imageTokenId));
    // And another key's hash of the same picture does not match either.
    assert.equal(commonPrefix(a, keyOf(model, first, 'key-2')), a.ids.indexOf(model.imageTokenId));
  });

  for (const backend of [{ backend: 'reference' as const }, { backend: 'native' as const }]) {
    it(`a cached prefix gives the logits of an uncached run (${backend.backend})`, () => {
      const { model } = loadModel(location, { backend });
      const rows = (prompt: Prompt) => model.imageEmbeddings(prompt.images);
      const uncached = model.prefill(second.ids, model.newCache(second.ids.length), rows(second));

      const cache = new PrefixCache(new ByteLru(1 << 30));
      const firstCache = model.newCache(first.ids.length);
      model.prefill(first.ids, firstCache, rows(first));
      cache.store('key-1', keyOf(model, first), firstCache);
      const hit = cache.lookup('key-1', keyOf(model, second), second.ids.length - 1);
      assert.ok(hit, 'the second question finds the first one');
      assert.ok(hit.length > second.ids.lastIndexOf(model.imageTokenId));
      const resumed = model.cacheFrom(hit.snapshot, hit.length, second.ids.length);
      // The whole picture is inside the prefix: no image rows are needed for the rest.
      const cached = model.prefill(second.ids.slice(hit.length), resumed);
      if (backend.backend === 'reference') assert.deepEqual(cached, uncached);
      else {
        // The native kernels group a chunk's rows differently when the chunk is shorter (rounding only).
        let worst = 0;
        cached.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - uncached[i]!))));
        assert.ok(worst < 1e-4, `max |cached − uncached| = ${worst}`);
      }
      assert.equal(cache.lookup('key-2', keyOf(model, second, 'key-2'), second.ids.length - 1), null);
    });
  }

  const { model, tokenizer } = loadModel(location);
  const newScheduler = (options?: SchedulerOptions) => new Scheduler(model, tokenizer, options);
  const answer = async (scheduler: Scheduler, prompt: PromptInput, maxTokens = 8) =>
    (await collect(scheduler.submitChoices(prompt, [decodeOptions(maxTokens)])[0]!)).done;
  const uncached = (prompt: Prompt) => answer(newScheduler({ prefixCaching: false }), input(prompt));

  it('the second question about the same picture reports the cached tokens and answers as an uncached run', async () => {
    const scheduler = newScheduler();
    const one = await answer(scheduler, input(first));
    const two = await answer(scheduler, input(second));
    assert.equal(one.usage.cachedTokens, 0);
    assert.ok(two.usage.cachedTokens! >= imageTokens, `${two.usage.cachedTokens} cached`);
    assert.equal(two.usage.promptTokens, second.ids.length);
    assert.deepEqual(one.tokens, (await uncached(first)).tokens);
    assert.deepEqual(two.tokens, (await uncached(second)).tokens);
    const stats = scheduler.stats;
    assert.equal(stats.visionEncodes, 1, 'the picture was inside the cached prefix: not encoded again');
    assert.equal(stats.prefixCacheHits, 1);
    assert.equal(stats.prefixCachedTokens, two.usage.cachedTokens);
    assert.ok(stats.prefixCacheBytes > 0);
  });

  it('another API key gets no hit', async () => {
    const scheduler = newScheduler();
    await answer(scheduler, input(first, 'key-1'));
    const other = await answer(scheduler, input(second, 'key-2'));
    assert.equal(other.usage.cachedTokens, 0);
    assert.equal(scheduler.stats.prefixCacheHits, 0);
    assert.equal(scheduler.stats.visionEncodes, 2);
    assert.ok((await answer(scheduler, input(second, 'key-1'))).usage.cachedTokens! >= imageTokens);
  });

  it('the next turn of a chat reuses the whole earlier conversation', async () => {
    // No system prompt: the instruct format puts it in the last user turn, so it moves every turn.
    const question = {
      role: 'user',
      content: [
        { type: 'image_url', image_url: imageUrl },
        { type: 'text', text: 'What is in this image?' },
      ],
    };
    const turn1 = await prepare(engine, { messages: [question] });
    const scheduler = newScheduler();
    const one = await answer(scheduler, input(turn1));
    const turn2 = await prepare(engine, {
      messages: [
        question,
        { role: 'assistant', content: one.text },
        { role: 'user', content: 'And what else?' },
      ],
    });
    const two = await answer(scheduler, input(turn2));
    // The first prompt and (as far as it re-tokenizes the same) the first answer were cached.
    assert.ok(
      two.usage.cachedTokens! >= turn1.ids.length,
      `${two.usage.cachedTokens} of ${turn1.ids.length}`,
    );
    assert.deepEqual(two.tokens, (await uncached(turn2)).tokens);
  });

  it('keeps answers right when a small --cache-size evicts entries, and stays within it', async () => {
    const probe = model.newCache(first.ids.length);
    model.prefill(first.ids, probe, model.imageEmbeddings(first.images));
    const oneEntry = probe.snapshot().bytes;
    const scheduler = newScheduler({ cacheBytes: Math.floor(oneEntry * 1.5) });
    const other = await ask('Describe it in one word.');
    for (const prompt of [first, other, second, first, other]) {
      const done = await answer(scheduler, input(prompt));
      assert.deepEqual(done.tokens, (await uncached(prompt)).tokens);
      const { prefixCacheBytes, imageCacheBytes } = scheduler.stats;
      assert.ok(
        prefixCacheBytes + imageCacheBytes <= oneEntry * 1.5,
        `${prefixCacheBytes} + ${imageCacheBytes}`,
      );
    }
  });

  it('eviction never touches the pages of a running sequence', async () => {
    // A cache too small for anything: every entry is dropped at once while its sequences still decode.
    const scheduler = newScheduler({ cacheBytes: 1 });
    const prompts = [first, second, first];
    const results = await Promise.all(prompts.map((p) => answer(scheduler, input(p), 12)));
    for (const [i, prompt] of prompts.entries()) {
      const alone = await answer(newScheduler({ prefixCaching: false }), input(prompt), 12);
      assert.deepEqual(results[i]!.tokens, alone.tokens);
    }
    assert.equal(scheduler.stats.prefixCacheBytes, 0);
  });
});
