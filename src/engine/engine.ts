/**
 * The engine API the CLI and the server share: a loaded model with its tokenizer and image settings, turning
 * chat-completion requests into prompts and prompts into streamed generations. Neither face knows tensor shapes.
 */
import { ReferenceBackend } from '../backend/reference/reference-backend.js';
import type { KvFormat } from '../backend/kv-format.js';
import type { Backend } from '../backend/types.js';
import type { ImageSettings } from '../checkpoint/index.js';
import { generate, type GenerateOptions, type GenerationEvent } from '../generate/generate.js';
import { PixtralModel } from '../model/pixtral.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { openModelSource } from './model-source.js';
import { type ImageFetcher, preparePrompt, type PreparedPrompt } from './prepare.js';
import { dataUriFetcher } from './fetchers.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';

export interface EngineOptions {
  readonly backend?: Backend;
  /** Longest sequence (prompt + answer) to allow, at most the model's own context (131072 for Pixtral). */
  readonly maxContext?: number;
  /** Called as tensors load: (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
  /** KV-cache storage: f32 (default), f16 or q8 (a quarter of the memory; 131072 tokens fit beside q4 weights). */
  readonly kvCache?: KvFormat;
}

export class Engine {
  private constructor(
    readonly id: string,
    readonly model: PixtralModel,
    readonly tokenizer: Tokenizer,
    readonly image: ImageSettings | null,
  ) {}

  /** Loads a model folder (either layout) or `builtin:tiny`. */
  static load(location: string, options: EngineOptions = {}): Engine {
    const source = openModelSource(location);
    try {
      const model = PixtralModel.fromCheckpoint(
        source.weights,
        options.backend ?? new ReferenceBackend(),
        options.onProgress,
        options.maxContext,
      );
      if (options.kvCache) model.kvFormat = options.kvCache;
      return new Engine(source.id, model, source.tokenizer, source.image);
    } finally {
      source.close(); // weights now live in the backend
    }
  }

  get maxContext(): number {
    return this.model.config.maxContext;
  }

  get backendName(): string {
    return this.model.backend.name;
  }

  /** Validates a chat-completion body and renders it to prompt ids with its images preprocessed. */
  prepare(body: unknown, fetchImage: ImageFetcher = dataUriFetcher()): Promise<PreparedPrompt> {
    return preparePrompt(body, this.tokenizer, this.model.config.vision ? this.image : null, fetchImage);
  }

  generate(prompt: PreparedPrompt, options: GenerateOptions): AsyncGenerator<GenerationEvent> {
    return generate(this.model, this.tokenizer, prompt.ids, prompt.images, options);
  }

  /** A scheduler that batches the decode steps of concurrent requests on this engine's model. */
  scheduler(options?: SchedulerOptions): Scheduler {
    return new Scheduler(this.model, this.tokenizer, options);
  }
}
