/**
 * What the HTTP layer needs from whatever generates: validate and tokenize a request (to count and bill its
 * prompt), then stream a generation. Two implementations: the local engine behind the batching scheduler, and
 * an upstream OpenAI-compatible server (upstream.ts) for scaling past one machine.
 */
import type { Engine } from '../engine/engine.js';
import type { ImageFetcher, PreparedPrompt } from '../engine/prepare.js';
import type { SchedulerOptions, SchedulerStats } from '../engine/scheduler.js';
import type { GenerateOptions, GenerationEvent } from '../generate/sequence.js';
import type { ImageInput } from '../model/vision-encoder.js';

export interface ChatBackend {
  /** Where generation runs, for /health and logs ("reference", "native", "upstream http://…"). */
  readonly description: string;
  readonly maxContext: number;
  readonly vision: boolean;
  prepare(body: unknown, fetchImage: ImageFetcher): Promise<PreparedPrompt>;
  /** Starts a generation; throws at once when it cannot be queued (context, overload, shutdown). */
  generate(prompt: PreparedPrompt, options: GenerateOptions): AsyncIterable<GenerationEvent>;
  stats(): SchedulerStats;
  /** Stops taking work; with cancel, fails what is in flight instead of finishing it. */
  close(options?: { cancel?: boolean }): Promise<void>;
}

/** Where the local backends send prompts: the in-process Scheduler, or the engine worker's proxy of it. */
export interface GenerationQueue {
  submit(
    ids: readonly number[],
    images: readonly ImageInput[],
    options: GenerateOptions,
  ): AsyncIterable<GenerationEvent>;
  readonly stats: SchedulerStats;
  close(options?: { cancel?: boolean }): Promise<void>;
}

/** A backend that prepares prompts its own way and queues them for generation. */
export abstract class QueuedChatBackend implements ChatBackend {
  abstract readonly description: string;
  abstract readonly maxContext: number;
  abstract readonly vision: boolean;

  constructor(private readonly queue: GenerationQueue) {}

  abstract prepare(body: unknown, fetchImage: ImageFetcher): Promise<PreparedPrompt>;

  generate(prompt: PreparedPrompt, options: GenerateOptions): AsyncIterable<GenerationEvent> {
    return this.queue.submit(prompt.ids, prompt.images, options);
  }

  stats(): SchedulerStats {
    return this.queue.stats;
  }

  close(options?: { cancel?: boolean }): Promise<void> {
    return this.queue.close(options);
  }
}

/** The engine in this thread (tests, embedding): prompts are prepared by the engine itself. */
export class LocalChatBackend extends QueuedChatBackend {
  constructor(
    private readonly engine: Engine,
    options?: SchedulerOptions,
  ) {
    super(engine.scheduler(options));
  }

  get description(): string {
    return `local ${this.engine.backendName} backend`;
  }

  get maxContext(): number {
    return this.engine.maxContext;
  }

  get vision(): boolean {
    return this.engine.model.vision !== null && this.engine.image !== null;
  }

  prepare(body: unknown, fetchImage: ImageFetcher): Promise<PreparedPrompt> {
    return this.engine.prepare(body, fetchImage);
  }
}
