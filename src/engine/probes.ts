/**
 * Looking inside the model without generating: the logits after a prompt, every position's logits
 * (teacher-forced), and a raw greedy continuation. Parity, quality and the benchmarks use these; serving and the
 * CLI generate only through the scheduler (the one decode loop, with sampling, stops and grammars). Nothing
 * here samples, streams or stops on strings.
 */
import type { Tensor } from '../backend/types.js';
import { argmax } from '../generate/sampler.js';
import type { KvCache } from '../model/kv-cache.js';
import type { PixtralModel } from '../model/pixtral.js';
import type { ImageInput } from '../model/vision-encoder.js';

export interface Prefilled {
  readonly cache: KvCache;
  /** Logits after the last prompt token. */
  readonly logits: Float32Array;
}

/** Prefills a prompt into a new cache with room for `extra` more tokens (release the cache when done). */
export function prefillPrompt(
  model: PixtralModel,
  ids: readonly number[],
  images: readonly ImageInput[] = [],
  extra = 0,
): Prefilled {
  const cache = model.newCache(ids.length + extra);
  const imageRows = images.length > 0 ? model.imageEmbeddings(images) : undefined;
  return { cache, logits: model.prefill(ids, cache, imageRows) };
}

/** The logits after a prompt. */
export function promptLogits(
  model: PixtralModel,
  ids: readonly number[],
  images?: readonly ImageInput[],
): Float32Array {
  const { cache, logits } = prefillPrompt(model, ids, images);
  cache.release();
  return logits;
}

/** Every position's next-token logits [ids.length, vocab] in one teacher-forced pass. */
export function positionLogits(
  model: PixtralModel,
  ids: readonly number[],
  images: readonly ImageInput[] = [],
): Tensor {
  const cache = model.newCache(ids.length);
  const imageRows: Tensor | undefined = images.length > 0 ? model.imageEmbeddings(images) : undefined;
  try {
    return model.decoder.logitsAll(
      model.decoder.forward(model.decoder.embed(ids, model.imageTokenId, imageRows), cache),
    );
  } finally {
    cache.release();
  }
}

/** Feeds `id` and returns the logits after it. */
export function stepToken(model: PixtralModel, id: number, cache: KvCache): Float32Array {
  return model.step(id, cache);
}

/** One step for several sequences together (as the scheduler batches them): row i is the logits after ids[i]. */
export function stepTokens(
  model: PixtralModel,
  ids: readonly number[],
  caches: readonly KvCache[],
): Float32Array[] {
  return model.stepBatch(ids, caches);
}

/** Raw greedy continuation: argmax each step until `stopId` or `maxNew` tokens (stopId included). */
export function greedyTokens(
  model: PixtralModel,
  ids: readonly number[],
  images: readonly ImageInput[],
  maxNew: number,
  stopId: number,
): number[] {
  const { cache, logits: first } = prefillPrompt(model, ids, images, maxNew);
  const out: number[] = [];
  try {
    let logits = first;
    for (;;) {
      const id = argmax(logits); // over the whole vocabulary, control tokens included, as the references do
      out.push(id);
      if (id === stopId || out.length >= maxNew) return out;
      logits = model.step(id, cache);
    }
  } finally {
    cache.release();
  }
}
