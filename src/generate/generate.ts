/**
 * The single-request generation loop: images → adapter rows; prompt prefill in chunks; then one token per
 * step through a Sequence until it finishes. Work yields to the event loop between chunks and tokens, so an
 * AbortSignal stops it within one token. (The server's scheduler drives many Sequences in one batch instead.)
 */
import type { ImageInput } from '../model/vision-encoder.js';
import type { PixtralModel } from '../model/pixtral.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { type GenerateOptions, type GenerationEvent, Sequence } from './sequence.js';

export {
  answerBudget,
  ContextLengthError,
  type FinishReason,
  type GenerateOptions,
  type GenerationEvent,
  Sequence,
  type Usage,
} from './sequence.js';

export async function* generate(
  model: PixtralModel,
  tokenizer: Tokenizer,
  promptIds: readonly number[],
  images: readonly ImageInput[],
  options: GenerateOptions,
): AsyncGenerator<GenerationEvent> {
  const sequence = new Sequence(tokenizer, promptIds.length, model.config.maxContext, options);
  const signal = options.signal;
  const cache = model.newCache(sequence.capacity);
  try {
    const imageRows = images.length > 0 ? model.imageEmbeddings(images) : undefined;
    await pause(signal);
    const prefill = model.prefillSteps(promptIds, cache, imageRows);
    let step = prefill.next();
    while (!step.done) {
      await pause(signal);
      step = prefill.next();
    }
    let logits = step.value;
    for (;;) {
      const { events, next } = sequence.accept(logits);
      yield* events;
      if (next === null) return;
      await pause(signal);
      logits = model.step(next, cache);
    }
  } finally {
    cache.release();
  }
}

/** Lets other work run (and a cancellation arrive) between heavy steps. */
export async function pause(signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}
