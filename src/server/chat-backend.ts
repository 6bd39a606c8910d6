/**
 * What the HTTP layer needs from whatever generates: validate and tokenize a request (to count and bill its
 * prompt), then stream a generation. Two implementations: the local engine behind the batching scheduler, and
 * an upstream OpenAI-compatible server (upstream.ts) for scaling past one machine.
 */
import type { Engine } from '../engine/engine.js';
import type { ImageFetcher, PreparedPrompt } from '../engine/prepare.js';
import type { Scheduler, SchedulerOptions, SchedulerStats } from '../engine/scheduler.js';
import type { GenerateOptions, GenerationEvent } from '../generate/sequence.js';

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

export class LocalChatBackend implements ChatBackend {
  private readonly scheduler: Scheduler;

  constructor(
    private readonly engine: Engine,
    options?: SchedulerOptions,
  ) {
    this.scheduler = engine.scheduler(options);
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

  generate(prompt: PreparedPrompt, options: GenerateOptions): AsyncIterable<GenerationEvent> {
    return this.scheduler.submit(prompt.ids, prompt.images, options);
  }

  stats(): SchedulerStats {
    return this.scheduler.stats;
  }

  close(options?: { cancel?: boolean }): Promise<void> {
    return this.scheduler.close(options);
  }
}
