/**
 * Prompt preparation without the weights: the tokenizer, image settings and limits of a model location, for
 * a process (the server's main thread) whose model runs elsewhere — in the engine worker.
 */
import type { ImageSettings } from '../checkpoint/index.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { openModelSource } from './model-source.js';
import { type ImageFetcher, preparePrompt, type PreparedPrompt } from './prepare.js';

export class PromptPreparer {
  private constructor(
    readonly id: string,
    readonly tokenizer: Tokenizer,
    /** Image settings when the model has a vision encoder, else null. */
    readonly image: ImageSettings | null,
  ) {}

  static open(location: string): PromptPreparer {
    const source = openModelSource(location);
    try {
      const vision = source.weights.config.vision ? source.image : null;
      return new PromptPreparer(source.id, source.tokenizer, vision);
    } finally {
      source.close();
    }
  }

  prepare(body: unknown, fetchImage: ImageFetcher): Promise<PreparedPrompt> {
    return preparePrompt(body, this.tokenizer, this.image, fetchImage);
  }
}
