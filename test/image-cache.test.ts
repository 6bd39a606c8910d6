import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Engine } from '../src/engine/engine.js';
import { ByteLru } from '../src/engine/byte-lru.js';
import { ImageFeatureCache, imageKey } from '../src/engine/image-cache.js';
import { loadModel } from '../src/engine/load-model.js';
import { Scheduler, type PromptInput, type SchedulerOptions } from '../src/engine/scheduler.js';
import type { ImageInput } from '../src/model/vision-encoder.js';
import { collect, decodeOptions } from './helpers/engine.js';
import { prepare } from './helpers/engine.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';

const goldens = loadGoldens();
const location = fixturePath(goldens.model.consolidated);
const engine = Engine.load(location, { scheduler: { cacheBytes: 0 } });
const { model, tokenizer } = loadModel(location);
/**
 * The image cache on its own: the prefix cache would answer a repeated prompt before its image is needed, and
 * these sampled answers are compared across batch shapes, which prompt lookup changes (prefix-cache.test.ts
 * covers both).
 */
const newScheduler = (options?: SchedulerOptions) =>
  new Scheduler(model, tokenizer, { prefixCaching: false, speculation: false, ...options });
const g = goldens.model.generate.find((x: { ids: number[] }) => x.ids.includes(10));
const prompt = await prepare(engine, JSON.parse(readFileSync(fixturePath(g.request), 'utf8')));
const imageA = prompt.images[0]!;
/** Another picture on the same patch grid (so the same prompt ids fit it). */
const imageB: ImageInput = { ...imageA, pixels: imageA.pixels.map((x) => -x) };
/** Sampled, so a difference anywhere in the logits would likely show in the tokens. */
const sampled = (seed: number) => decodeOptions(8, { sampling: { temperature: 1, topP: 1, seed } });
const withImage = (image: ImageInput, scope?: string): PromptInput => ({
  ids: prompt.ids,
  images: [image],
  ...(scope !== undefined && { scope }),
});

async function answer(scheduler: Scheduler, input: PromptInput, seed = 1): Promise<number[]> {
  return (await collect(scheduler.submitChoices(input, [sampled(seed)])[0]!)).done.tokens;
}

/** What a scheduler without an image cache answers. */
async function uncached(input: PromptInput, seed = 1): Promise<number[]> {
  return answer(newScheduler({ cacheBytes: 0 }), input, seed);
}

describe('image-feature cache', () => {
  it('a cached image gives exactly the logits of an uncached run', () => {
    const cache = new ImageFeatureCache(new ByteLru(1 << 30));
    const encode = (image: ImageInput) => model.imageEmbeddings([image]);
    cache.features(imageA, imageKey('key-1', imageA), encode);
    const hit = cache.features(imageA, imageKey('key-1', imageA), encode);
    assert.deepEqual(cache.stats.imageCacheHits, 1);
    const logits = (rows = model.imageEmbeddings([imageA])) =>
      model.prefill(prompt.ids, model.newCache(prompt.ids.length), rows);
    assert.deepEqual(logits(hit), logits());
  });

  it('the second request on the same image hits the cache and answers as an uncached run', async () => {
    const scheduler = newScheduler();
    const first = await answer(scheduler, withImage(imageA, 'key-1'));
    const second = await answer(scheduler, withImage(imageA, 'key-1'));
    const stats = scheduler.stats;
    assert.equal(stats.visionEncodes, 1);
    assert.equal(stats.imageCacheMisses, 1);
    assert.equal(stats.imageCacheHits, 1);
    assert.equal(stats.imageCacheBytes, model.imageEmbeddings([imageA]).data.byteLength);
    const expected = await uncached(withImage(imageA));
    assert.deepEqual(first, expected);
    assert.deepEqual(second, expected);
  });

  it('another API key gets no hit', async () => {
    const scheduler = newScheduler();
    await answer(scheduler, withImage(imageA, 'key-1'));
    await answer(scheduler, withImage(imageA, 'key-2'));
    assert.equal(scheduler.stats.imageCacheHits, 0);
    assert.equal(scheduler.stats.visionEncodes, 2);
    // And each key still hits its own entry.
    await answer(scheduler, withImage(imageA, 'key-2'));
    assert.equal(scheduler.stats.imageCacheHits, 1);
  });

  it('evicts the least recently used image under a small size and keeps answers right', async () => {
    const oneImage = model.imageEmbeddings([imageA]).data.byteLength;
    const scheduler = newScheduler({ cacheBytes: oneImage });
    const expected = { a: await uncached(withImage(imageA)), b: await uncached(withImage(imageB)) };
    assert.notDeepEqual(expected.a, expected.b);
    for (const [name, image] of [
      ['a', imageA],
      ['b', imageB],
      ['a', imageA],
      ['a', imageA],
    ] as const) {
      assert.deepEqual(await answer(scheduler, withImage(image)), expected[name], name);
      assert.ok(scheduler.stats.imageCacheBytes <= oneImage);
    }
    assert.equal(scheduler.stats.imageCacheMisses, 3); // a, b (evicts a), a again (evicts b)
    assert.equal(scheduler.stats.imageCacheHits, 1);
  });

  it('concurrent requests on the same image answer as uncached runs', async () => {
    const scheduler = newScheduler({ maxBatch: 4 });
    const seeds = [1, 2, 3, 4];
    const answers = await Promise.all(seeds.map((seed) => answer(scheduler, withImage(imageA), seed)));
    for (const [i, seed] of seeds.entries())
      assert.deepEqual(answers[i], await uncached(withImage(imageA), seed), `seed ${seed}`);
    assert.equal(scheduler.stats.visionEncodes, 1);
  });
});

describe('n choices share one prompt', () => {
  it('n = 3 runs the vision encoder and the prefill once; each choice answers as it would alone', async () => {
    const scheduler = newScheduler({ cacheBytes: 0 });
    const streams = scheduler.submitChoices(withImage(imageA), [sampled(1), sampled(2), sampled(3)]);
    const answers = await Promise.all(streams.map(async (s) => (await collect(s)).done.tokens));
    assert.equal(scheduler.stats.visionEncodes, 1);
    assert.equal(scheduler.stats.prefills, 1);
    for (const [i, tokens] of answers.entries())
      assert.deepEqual(tokens, await uncached(withImage(imageA), i + 1), `choice ${i}`);
    assert.equal(new Set(answers.map((a) => a.join())).size > 1, true, 'the seeds differ');
  });

  it('a cancelled choice leaves the others running', async () => {
    const scheduler = newScheduler();
    const controller = new AbortController();
    const streams = scheduler.submitChoices(withImage(imageA), [
      sampled(1),
      { ...sampled(2), signal: controller.signal },
    ]);
    controller.abort();
    await assert.rejects(collect(streams[1]!), /abort/i);
    assert.deepEqual((await collect(streams[0]!)).done.tokens, await uncached(withImage(imageA), 1));
    assert.equal(scheduler.stats.running, 0);
  });
});
