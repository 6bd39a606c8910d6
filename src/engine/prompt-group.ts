/**
 * A prompt on its way through the scheduler: the group of its choices (`n`), and how its prefill starts — the
 * longest cached prefix first (prefix-cache.ts), then the features of the images not wholly inside it (from the
 * image-feature cache, or encoded); what is left the scheduler (scheduler.ts) prefills, when it lets the group run,
 * and then decodes its choices.
 */
import type { Tensor } from '../backend/types.js';
import type { DraftPolicy } from '../generate/draft-policy.js';
import type { GenerationEvent, Sequence } from '../generate/sequence.js';
import type { KvCache } from '../model/kv-cache.js';
import type { PixtralModel } from '../model/pixtral.js';
import type { ImageInput } from '../model/vision-encoder.js';
import type { EventChannel } from './event-channel.js';
import { type ImageFeatureCache, imageKey } from './image-cache.js';
import type { PrefixCache, PromptKey } from './prefix-cache.js';

/** What a prompt brings to the scheduler: its ids, its images, and whose cached image features it may use. */
export interface PromptInput {
  readonly ids: readonly number[];
  readonly images: readonly ImageInput[];
  /** The cache scope (the API key): a prompt only ever hits cache entries of its own scope. */
  readonly scope?: string;
}

/** One choice of a prompt: its sampler state and stream, and its own cache once the prompt is prefilled. */
export interface Job {
  readonly sequence: Sequence;
  readonly channel: EventChannel<GenerationEvent>;
  readonly signal: AbortSignal | undefined;
  readonly group: Group;
  cache: KvCache | null;
  /** The token to feed in the next decode step. */
  next: number | null;
  /** How many tokens to draft for it (prompt lookup), when speculation is on. */
  readonly drafts: DraftPolicy | null;
}

/** A prompt and its choices (`n`): the images are encoded and the prompt prefilled once for all of them. */
export interface Group {
  readonly prompt: PromptInput;
  /** The choices still waiting for the prompt's logits. */
  readonly jobs: Job[];
  cache: KvCache | null;
  prefill: Generator<number, Float32Array> | null;
  /** The cache scope: the API key, or LOCAL_SCOPE. */
  readonly scope: string;
  /** The prompt as the prefix cache compares it (set when its prefill starts). */
  key: PromptKey | null;
  /** Prompt positions taken from the prefix cache. */
  cachedTokens: number;
}

/** What a prompt still feeds after its cached prefix: the ids, and the [IMG] rows among them. */
export interface PromptRest {
  readonly ids: readonly number[];
  readonly imageRows: Tensor | undefined;
}

/**
 * Takes the longest cached prefix of the group's prompt as its cache (`group.cache`, `group.key`,
 * `group.cachedTokens`) and the features of the images that are not all inside it (from the image cache, or
 * `encode`d); returns the rest to prefill — which only the scheduler runs.
 */
export function promptStart(
  group: Group,
  model: PixtralModel,
  prefixCache: PrefixCache | null,
  imageCache: ImageFeatureCache,
  encode: (image: ImageInput) => Tensor,
): PromptRest {
  const { ids, images } = group.prompt;
  const { scope } = group;
  const capacity = group.jobs[0]!.sequence.capacity;
  const imageKeys = images.map((image) => imageKey(scope, image));
  group.key = {
    ids,
    imageTokenId: model.imageTokenId,
    images: images.map((image, i) => ({ key: imageKeys[i]!, tokens: image.rows * image.cols })),
  };
  // At least the last prompt token is run: its logits start the answer.
  const hit = prefixCache?.lookup(scope, group.key, ids.length - 1) ?? null;
  const start = hit?.length ?? 0;
  group.cache = hit ? model.cacheFrom(hit.snapshot, start, capacity) : model.newCache(capacity);
  group.cachedTokens = start;
  // The [IMG] rows still to feed: the images wholly inside the cached prefix are never encoded.
  const cachedRows = ids.slice(0, start).filter((id) => id === model.imageTokenId).length;
  return { ids: ids.slice(start), imageRows: imageCache.rowsFrom(cachedRows, images, imageKeys, encode) };
}
